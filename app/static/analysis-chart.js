// Draws the complaints analysis charts from the page's JSON data (no inline script: the CSP forbids it).
(function () {
  const source = document.getElementById('analysis-data');
  if (!source || !window.Chart) return;
  const data = JSON.parse(source.textContent);
  const style = getComputedStyle(document.documentElement);
  const primary = style.getPropertyValue('--bs-primary').trim() || '#0d6efd';
  const options = {
    responsive: true,
    maintainAspectRatio: false,
    animation: window.matchMedia('(prefers-reduced-motion: reduce)').matches ? false : undefined,
    plugins: { legend: { display: false } },
    scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
  };

  function draw(id, kind, series) {
    const canvas = document.getElementById(id);
    if (!canvas || !series) return;
    new window.Chart(canvas, {
      type: kind,
      data: {
        labels: series.labels,
        datasets: [{
          label: series.title,
          data: series.counts,
          backgroundColor: primary,
          borderColor: primary,
          tension: 0,
        }],
      },
      options,
    });
  }

  draw('chart-categories', 'bar', data.categories);
  draw('chart-months', data.months && data.months.labels.length > 1 ? 'line' : 'bar', data.months);
})();
