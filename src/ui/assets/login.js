// The sign-in form: posts the key as JSON (the server reads JSON bodies), then opens the dashboard.
"use strict";
document.getElementById("signin").addEventListener("submit", async (e) => {
  e.preventDefault();
  const error = document.getElementById("error");
  const input = document.getElementById("key");
  error.textContent = "";
  try {
    const res = await fetch("/ui/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ key: input.value }),
      credentials: "same-origin",
    });
    if (res.ok) {
      location.replace("/ui");
      return;
    }
    const body = await res.json().catch(() => ({}));
    error.textContent = (body.error && body.error.message) || `sign-in failed (${res.status})`;
  } catch (err) {
    error.textContent = `sign-in failed: ${err.message}`;
  }
  input.select();
});
