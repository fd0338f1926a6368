// Renders the product's OpenAPI document with the packaged Swagger UI (no CDN, no inline script).
(function () {
  var node = document.getElementById("swagger-ui");
  if (!node || typeof SwaggerUIBundle !== "function") { return; }
  SwaggerUIBundle({ url: node.getAttribute("data-url"), dom_id: "#swagger-ui", deepLinking: false,
                    supportedSubmitMethods: [] });
})();
