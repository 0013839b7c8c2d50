// Swagger UI over the API's OpenAPI document (app/templates/api/docs.html): no inline script, as the
// Content-Security-Policy wants.
(function () {
  const root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
})();
