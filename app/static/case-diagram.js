// Shows the BPMN diagram of the case's definition version: the steps and flows the case passed, where
// it waits, and the time spent at each human step (engine.timeline.path). It opens at a readable size:
// the whole diagram if it fits at 100 % or more, else 100 % (labels 11–12 px) centred on where the case
// waits; the buttons under it zoom, fit and go full screen, and it pans by dragging.
(function () {
  const container = document.getElementById('diagram');
  if (!container || !window.BpmnJS) return;
  const viewer = new window.BpmnJS({ container });
  window.caseDiagram = viewer; // for the browser tests and the console
  const READABLE = 1; // the smallest zoom a view opens at: bpmn-js draws labels at 11 and 12 px
  const STEP = 1.25;

  function open(canvas, registry) {
    canvas.zoom('fit-viewport');
    if (canvas.zoom() >= READABLE) { canvas.zoom(READABLE, 'auto'); return; }
    const waiting = ids('open').map((id) => registry.get(id)).find(Boolean);
    const at = waiting || registry.filter((element) => element.type === 'bpmn:StartEvent')[0];
    canvas.zoom(READABLE);
    if (at) {
      const { outer } = canvas.viewbox();
      const x = waiting ? at.x + at.width / 2 - outer.width / 2 : at.x - 20;
      canvas.viewbox({ x, y: at.y + at.height / 2 - outer.height / 2, width: outer.width, height: outer.height });
    }
  }

  function control(canvas, registry, view) {
    const frame = container.closest('.diagram-frame');
    if (view === 'in') canvas.zoom(canvas.zoom() * STEP, 'auto');
    if (view === 'out') canvas.zoom(canvas.zoom() / STEP, 'auto');
    if (view === 'actual') canvas.zoom(1, 'auto');
    if (view === 'fit') canvas.zoom('fit-viewport', 'auto');
    if (view === 'fullscreen') {
      const expand = (on) => { frame.classList.toggle('diagram-expanded', on); canvas.resized(); };
      if (document.fullscreenElement) document.exitFullscreen();
      else if (frame.classList.contains('diagram-expanded')) expand(false);
      else frame.requestFullscreen().catch(() => expand(true)); // a browser may refuse it: the window then
    }
  }
  const ids = (name) => (container.dataset[name] || '').split(',').filter(Boolean);
  const times = JSON.parse(container.dataset.times || '{}');
  fetch(container.dataset.xmlUrl, { credentials: 'same-origin' })
    .then((response) => response.text())
    .then((xml) => viewer.importXML(xml))
    .then(() => {
      const canvas = viewer.get('canvas');
      const registry = viewer.get('elementRegistry');
      const overlays = viewer.get('overlays');
      open(canvas, registry);
      container.closest('.diagram-frame').querySelectorAll('[data-view]').forEach((button) => {
        button.addEventListener('click', () => control(canvas, registry, button.dataset.view));
      });
      document.addEventListener('fullscreenchange', () => canvas.resized());
      const mark = (id, marker) => { if (registry.get(id)) canvas.addMarker(id, marker); };
      ids('done').forEach((id) => mark(id, 'step-done'));
      ids('open').forEach((id) => mark(id, 'step-open'));
      ids('flows').forEach((id) => mark(id, 'flow-taken'));
      Object.entries(times).forEach(([id, text]) => {
        if (!registry.get(id)) return;
        const badge = document.createElement('span');
        badge.className = 'step-time';
        badge.textContent = text;
        overlays.add(id, { position: { bottom: 8, right: 4 }, html: badge });
      });
    })
    .catch((error) => { container.textContent = String(error); });
})();
