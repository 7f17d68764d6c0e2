// The staff console (/console): login, sessions, one session's agenda,
// participants and invitations, and the way into the meeting console. Pages are
// addressed by the fragment (#/ and #/session/<id>) so that a reload keeps the
// place. Diagnostics for tests on `window.seduta` (the page shown, the staff
// member), as in the participant client.

import "./archive_texts.js";
import { applyTexts, currentLang, onLangChange, setLang, t } from "../i18n.js";
import { accessQuery, showAccessLog } from "./access_log.js";
import { archiveQuery, showArchive } from "./archive.js";
import { api, clearStaff, onUnauthorized, staffSession } from "./api.js";
import { bindLogin, showLoginMessage } from "./login.js";
import { bindPassword } from "./password.js";
import { showRecord } from "./record.js";
import { showSession } from "./session.js";
import { showSessions } from "./sessions.js";

const $ = (id) => document.getElementById(id);
const VIEWS = ["view-login", "view-password", "view-sessions", "view-session", "view-archive", "view-record", "view-access"];
const NOTICE_MS = 6000;

const app = { state: "idle", noticeTimer: null };

window.seduta = {
  get state() {
    return app.state;
  },
  get staff() {
    return staffSession()?.staff ?? null;
  },
};

function show(view) {
  app.state = view.replace("view-", "");
  document.body.dataset.state = app.state;
  VIEWS.forEach((v) => ($(v).hidden = v !== view));
}

const ctx = {
  go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
  error(text) {
    const el = $("staff-error");
    el.textContent = text;
    el.hidden = !text;
    if (text) $("staff-notice").hidden = true;
  },
  notice(text) {
    const el = $("staff-notice");
    el.textContent = text;
    el.hidden = false;
    clearTimeout(app.noticeTimer);
    app.noticeTimer = setTimeout(() => (el.hidden = true), NOTICE_MS);
  },
};

function header() {
  const staff = staffSession()?.staff;
  $("staff-name").textContent = staff ? staff.display_name || staff.username : "";
  $("password-button").hidden = !staff;
  $("logout-button").hidden = !staff;
  $("console-nav").hidden = !staff;
  $("nav-access").hidden = !(staff?.role === "segretario" || staff?.role === "admin");
  const place = location.hash.startsWith("#/archive") ? "nav-archive" : location.hash.startsWith("#/access-log") ? "nav-access" : "nav-sessions";
  for (const id of ["nav-sessions", "nav-archive", "nav-access"]) {
    if (id === place) $(id).setAttribute("aria-current", "page");
    else $(id).removeAttribute("aria-current");
  }
}

async function route() {
  ctx.error("");
  header();
  if (!staffSession()) {
    show("view-login");
    $("login-username").focus();
    return;
  }
  const hash = location.hash;
  const record = hash.match(/^#\/archive\/([^?]+)$/);
  const m = hash.match(/^#\/session\/(.+)$/);
  if (record) {
    show("view-record");
    await showRecord($("view-record"), decodeURIComponent(record[1]), ctx);
  } else if (hash === "#/archive" || hash.startsWith("#/archive?")) {
    show("view-archive");
    await showArchive($("view-archive"), archiveQuery(hash), ctx);
  } else if (hash === "#/access-log" || hash.startsWith("#/access-log?")) {
    show("view-access");
    await showAccessLog($("view-access"), accessQuery(hash), ctx);
  } else if (m) {
    show("view-session");
    await showSession($("view-session"), decodeURIComponent(m[1]), ctx);
  } else {
    show("view-sessions");
    await showSessions($("view-sessions"), ctx);
  }
}

async function logout() {
  try {
    await api("POST", "/api/auth/logout");
  } catch {
    // The token is dropped here anyway.
  }
  clearStaff();
  ctx.notice(t("staff.logged_out"));
  route();
}

function start() {
  document.documentElement.lang = currentLang();
  applyTexts(document);
  $("lang-switch").textContent = currentLang() === "it" ? "EN" : "IT";
  $("lang-switch").addEventListener("click", () => setLang(currentLang() === "it" ? "en" : "it"));
  onLangChange((lang) => {
    $("lang-switch").textContent = lang === "it" ? "EN" : "IT";
    if (["sessions", "session", "archive", "record", "access"].includes(app.state)) route();
  });
  bindLogin(() => route());
  bindPassword((changed) => {
    if (changed) ctx.notice(t("password.changed"));
    route();
  });
  $("password-button").addEventListener("click", () => {
    ctx.error("");
    show("view-password");
    $("password-current").focus();
  });
  $("logout-button").addEventListener("click", logout);
  onUnauthorized(() => {
    header();
    show("view-login");
    showLoginMessage(t("staff.expired"));
  });
  window.addEventListener("hashchange", route);
  route();
}

start();
