// Staff login: username and password → POST /api/auth/login → {token, expires_at,
// staff}; the token is kept in sessionStorage (this tab only).

import { t } from "../i18n.js";
import { api, apiErrorText, saveStaff } from "./api.js";

const $ = (id) => document.getElementById(id);

export function bindLogin(onLoggedIn) {
  const form = $("login-form");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const username = $("login-username").value.trim();
    const password = $("login-password").value;
    const error = $("login-error");
    if (!username || !password) {
      showError(error, t("login.missing"));
      return;
    }
    $("login-submit").disabled = true;
    try {
      const result = await api("POST", "/api/auth/login", { username, password });
      saveStaff(result);
      $("login-password").value = "";
      error.hidden = true;
      onLoggedIn(result);
    } catch (e) {
      showError(error, apiErrorText(e));
      $("login-password").value = "";
      $("login-password").focus();
    } finally {
      $("login-submit").disabled = false;
    }
  });
}

export function showLoginMessage(text) {
  showError($("login-error"), text);
}

function showError(el, text) {
  el.textContent = text;
  el.hidden = !text;
}
