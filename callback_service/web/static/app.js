/* Progressive enhancement only: every page works without this file. */
(function () {
  "use strict";
  var token = document.querySelector('meta[name="csrf-token"]');

  // Reveal a masked value in place; the server audits each reveal.
  document.querySelectorAll("form.reveal-form").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      fetch(form.action, {
        method: "POST", credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRFToken": token ? token.content : "" },
        body: new FormData(form)
      }).then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (data) {
          var dd = form.closest(".pii");
          dd.querySelector(".value").textContent = data.value;
          form.remove();
        })
        .catch(function () { form.submit(); });
    });
  });

  // Transitions that need a note say so before the round trip.
  var tform = document.getElementById("transition-form");
  if (tform) {
    tform.addEventListener("submit", function (ev) {
      var btn = ev.submitter;
      var note = tform.querySelector("textarea[name=note]");
      if (btn && btn.dataset.noteRequired && !note.value.trim()) {
        ev.preventDefault();
        note.setCustomValidity(note.placeholder);
        note.reportValidity();
        note.addEventListener("input", function () { note.setCustomValidity(""); }, { once: true });
      }
    });
  }
})();
