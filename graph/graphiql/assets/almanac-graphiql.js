// Renders GraphiQL into #graphiql, sending operations to the endpoint named
// by its data-endpoint attribute. A file rather than an inline script, so
// that the page's Content-Security-Policy can forbid inline scripts.
(function () {
  "use strict";

  // What a first visit shows: a search, the API's most common use. Later
  // visits show the last operation edited, which GraphiQL keeps in
  // localStorage.
  var defaultQuery = [
    "# Almanac's GraphQL API. Run an operation with Ctrl-Enter (Cmd-Enter on",
    "# a Mac) or the \u25B6 button; the Docs button lists every type and field.",
    "# More examples: docs/graphql/ in the Almanac repository.",
    "{",
    "  search(query: \"orders\", first: 5) {",
    "    totalCount",
    "    edges {",
    "      node {",
    "        namespace",
    "        name",
    "        kind",
    "        owners",
    "        tags",
    "      }",
    "    }",
    "  }",
    "}",
    "",
  ].join("\n");

  // GraphiQL's dialogs add a style element, which the page's
  // Content-Security-Policy allows only with the nonce this script was
  // given; the bundle reads it from __webpack_nonce__.
  window.__webpack_nonce__ = document.currentScript.nonce;

  var root = document.getElementById("graphiql");
  root.textContent = "";
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: GraphiQL.createFetcher({ url: root.dataset.endpoint }),
      defaultQuery: defaultQuery,
    })
  );
})();
