// Shows the BPMN diagram of the case's definition version: the steps and flows the case passed, where
// it waits, and the time spent at each human step (engine.timeline.path).
(function () {
  const container = document.getElementById('diagram');
  if (!container || !window.BpmnJS) return;
  const viewer = new window.BpmnJS({ container });
  const ids = (name) => (container.dataset[name] || '').split(',').filter(Boolean);
  const times = JSON.parse(container.dataset.times || '{}');
  fetch(container.dataset.xmlUrl, { credentials: 'same-origin' })
    .then((response) => response.text())
    .then((xml) => viewer.importXML(xml))
    .then(() => {
      const canvas = viewer.get('canvas');
      const registry = viewer.get('elementRegistry');
      const overlays = viewer.get('overlays');
      canvas.zoom('fit-viewport');
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
