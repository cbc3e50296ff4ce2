// Previews of edits on the dataset page. Without this script the
// description forms' "Preview" button posts the form and the page comes
// back with the preview; with it, the preview comes from /edit/preview and
// shows in place, and the page stays as it is. Each form's parts are found
// within the form, never by id, since a description may carry ids too.
(function () {
  "use strict";
  if (!window.fetch || !window.FormData) {
    return;
  }
  document.querySelectorAll("form.edit-form[data-preview]").forEach(function (form) {
    var button = form.querySelector('button[name="action"][value="preview"]');
    var text = form.querySelector("textarea[name=description]");
    var box = form.querySelector(".preview");
    var body = form.querySelector(".preview-body");
    if (!button || !text || !box || !body) {
      return;
    }
    var pending = null;
    button.addEventListener("click", function (event) {
      event.preventDefault();
      if (pending) {
        pending.abort();
      }
      pending = new AbortController();
      box.hidden = false;
      box.setAttribute("aria-busy", "true");
      var data = new URLSearchParams();
      data.set("description", text.value);
      fetch(form.getAttribute("data-preview"), {
        method: "POST",
        body: data,
        signal: pending.signal,
        credentials: "same-origin",
        headers: { Accept: "text/html" },
      })
        .then(function (r) {
          if (!r.ok) {
            throw new Error(r.status === 401 ? "Your login has expired: reload the page to log in again." : "The preview failed (" + r.status + ").");
          }
          return r.text();
        })
        .then(function (html) {
          // The server sanitized the rendering (markdown.Render); parse
          // it inertly, then move its nodes in.
          var doc = new DOMParser().parseFromString('<div class="markdown">' + html + "</div>", "text/html");
          body.replaceChildren.apply(body, Array.prototype.slice.call(doc.body.childNodes));
        })
        .catch(function (err) {
          if (err.name === "AbortError") {
            return;
          }
          var p = document.createElement("p");
          p.className = "form-error";
          p.textContent = err.message;
          body.replaceChildren(p);
        })
        .finally(function () {
          box.removeAttribute("aria-busy");
        });
    });
  });
})();
