/* The upload page, enhanced when scripts run: a file of the wrong type or over the size limit is refused here,
   before it is sent, with the reason next to the field. Without scripts the form still works: the bucket's
   policy refuses an oversized file and the console's check after the upload refuses the rest. */
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) { return; }
  var input = document.getElementById("upload-file");
  var problem = document.getElementById("upload-problem");
  var max = parseInt(form.getAttribute("data-max-bytes") || "0", 10);
  var type = form.getAttribute("data-type") || "";

  function check() {
    var file = input.files && input.files[0];
    var text = "";
    if (file && max && file.size > max) {
      text = form.getAttribute("data-too-large") || "";
    } else if (file && file.type && type && file.type !== type) {
      text = form.getAttribute("data-wrong-type") || "";
    }
    problem.textContent = text;
    problem.hidden = !text;
    input.setAttribute("aria-invalid", text ? "true" : "false");
    return !text;
  }

  input.addEventListener("change", check);
  form.addEventListener("submit", function (event) {
    if (!check()) {
      event.preventDefault();
      input.focus();
    }
  });
}());
