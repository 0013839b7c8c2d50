// Draws the step report's bar charts (median and 90th percentile hours per step) from each canvas's own
// data (no inline script: the CSP forbids it).
(function () {
  if (!window.Chart) return;
  const style = getComputedStyle(document.documentElement);
  const colours = [style.getPropertyValue('--bs-primary').trim() || '#0d6efd',
                   style.getPropertyValue('--bs-warning').trim() || '#ffc107'];
  const still = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
  const tenths = (value) => (value === null ? null : Math.round(value * 10) / 10);

  document.querySelectorAll('canvas[data-step-chart]').forEach((canvas) => {
    const chart = JSON.parse(canvas.dataset.stepChart);
    new window.Chart(canvas, {
      type: 'bar',
      data: {
        labels: chart.labels,
        datasets: chart.series.map((series, i) => ({
          label: series.title,
          data: series.hours.map(tenths),
          backgroundColor: colours[i % colours.length],
        })),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: still ? false : undefined,
        scales: { y: { beginAtZero: true, title: { display: true, text: chart.unit } } },
      },
    });
  });
})();
