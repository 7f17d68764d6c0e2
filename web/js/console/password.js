// Password change: POST /api/auth/password {current_password, new_password} → 204;
// 400 weak_password when the new one does not meet the rules.

import { t } from "../i18n.js";
import { api, apiErrorText } from "./api.js";

const $ = (id) => document.getElementById(id);

// onDone(changed: bool) closes the form.
export function bindPassword(onDone) {
  const error = $("password-error");
  const fields = ["password-current", "password-new", "password-repeat"].map($);
  const clear = () => {
    fields.forEach((f) => (f.value = ""));
    error.hidden = true;
  };
  $("password-cancel").addEventListener("click", () => {
    clear();
    onDone(false);
  });
  $("password-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const [current, next, repeat] = fields.map((f) => f.value);
    let problem = "";
    if (!current || !next) problem = t("password.missing");
    else if (next !== repeat) problem = t("password.mismatch");
    if (problem) {
      error.textContent = problem;
      error.hidden = false;
      return;
    }
    const submit = ev.submitter;
    if (submit) submit.disabled = true;
    try {
      await api("POST", "/api/auth/password", { current_password: current, new_password: next });
      clear();
      onDone(true);
    } catch (e) {
      error.textContent = apiErrorText(e);
      error.hidden = false;
    } finally {
      if (submit) submit.disabled = false;
    }
  });
}
