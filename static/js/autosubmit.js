// <select data-autosubmit> submits its form when changed (no inline onchange: the Content-Security-Policy
// allows no inline script). Without JavaScript the form keeps its <noscript> submit button.
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field instanceof HTMLSelectElement && field.hasAttribute("data-autosubmit") && field.form) {
    field.form.requestSubmit();
  }
});
