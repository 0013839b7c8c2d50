// Shows the BPMN diagram of the case's definition version, marking done and waiting steps.
(function () {
  const container = document.getElementById('diagram');
  if (!container || !window.BpmnJS) return;
  const viewer = new window.BpmnJS({ container });
  const ids = (name) => (container.dataset[name] || '').split(',').filter(Boolean);
  fetch(container.dataset.xmlUrl, { credentials: 'same-origin' })
    .then((response) => response.text())
    .then((xml) => viewer.importXML(xml))
    .then(() => {
      const canvas = viewer.get('canvas');
      canvas.zoom('fit-viewport');
      ids('done').forEach((id) => canvas.addMarker(id, 'step-done'));
      ids('open').forEach((id) => canvas.addMarker(id, 'step-open'));
    })
    .catch((error) => { container.textContent = String(error); });
})();
