// The progress report's charts (reports/progress.html): average score and entities per level, per scorecard.
// Data comes from the page's <script type="application/json" id="progress-data"> (json_script).
document.addEventListener("DOMContentLoaded", () => {
  const source = document.getElementById("progress-data");
  if (!window.Chart || !source) return;
  const data = JSON.parse(source.textContent);
  document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
    const series = data[canvas.dataset.scorecard];
    if (!series) return;
    if (canvas.dataset.chart === "average") {
      new Chart(canvas, {
        type: "line",
        data: {
          labels: series.labels,
          datasets: [
            { label: "Average score (%)", data: series.average, borderColor: "#1f6feb", tension: 0.2 },
            { label: "Definition changed", data: series.changes, showLine: false, pointStyle: "triangle",
              pointRadius: 8, borderColor: "#b3261e", backgroundColor: "#b3261e" },
          ],
        },
        options: { scales: { y: { min: 0, max: 100 } } },
      });
    } else {
      new Chart(canvas, {
        type: "line",
        data: {
          labels: series.labels,
          datasets: series.levels.map((l) => ({ label: l.name, data: l.data, borderColor: l.color, backgroundColor: l.color })),
        },
        options: { scales: { y: { min: 0, ticks: { precision: 0 } } } },
      });
    }
  });
});
