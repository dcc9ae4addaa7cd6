// The score trend of each report card (evaluations/entity.html). Each canvas names, in data-history, the id of
// the <script type="application/json"> that holds its series.
document.addEventListener("DOMContentLoaded", () => {
  if (typeof Chart === "undefined") return;
  document.querySelectorAll("canvas[data-history]").forEach((canvas) => {
    const source = document.getElementById(canvas.dataset.history);
    if (!source) return;
    const data = JSON.parse(source.textContent);
    if (!data.values.length) return;
    new Chart(canvas, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: [{
          label: "Score %",
          data: data.values,
          borderColor: "#1d4ed8",
          tension: 0.2,
          pointRadius: data.versionChanged.map((c) => (c ? 7 : 2)),
          pointStyle: data.versionChanged.map((c) => (c ? "rectRot" : "circle")),
          pointBackgroundColor: data.versionChanged.map((c) => (c ? "#b3261e" : "#1d4ed8")),
        }],
      },
      options: {
        animation: false,
        scales: { y: { min: 0, max: 100, title: { display: true, text: "Score %" } } },
        plugins: { tooltip: { callbacks: { afterLabel: (ctx) => {
          const i = ctx.dataIndex;
          return "Scorecard version " + data.versions[i] + (data.versionChanged[i] ? " (definition changed)" : "");
        } } } },
      },
    });
  });
});
