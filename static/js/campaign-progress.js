// A campaign's progress chart (campaigns/detail.html), from <script type="application/json" id="campaign-data">.
document.addEventListener("DOMContentLoaded", () => {
  const source = document.getElementById("campaign-data");
  const canvas = document.querySelector("canvas[data-chart='campaign-progress']");
  if (!window.Chart || !source || !canvas) return;
  const data = JSON.parse(source.textContent);
  new Chart(canvas, {
    type: "line",
    data: { labels: data.labels, datasets: [{ label: "Entities passing (%)", data: data.progress, borderColor: "#1f6feb", tension: 0.2 }] },
    options: { scales: { y: { min: 0, max: 100 } } },
  });
});
