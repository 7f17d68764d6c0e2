// The staff REST API: JSON in and out, the staff token (Bearer) kept in
// sessionStorage for this tab only. Every error is `{code, message}` with an HTTP
// status; it is thrown as an ApiError.

import { hasText, t } from "../i18n.js";

const KEY = "seduta.staff";
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
}

// {token, expires_at, staff} or null when not logged in or expired.
export function staffSession() {
  let s = null;
  try {
    s = JSON.parse(sessionStorage.getItem(KEY) || "null");
  } catch {
    s = null;
  }
  if (!s?.token) return null;
  const expires = expiryMs(s.expires_at);
  if (expires !== null && expires <= Date.now()) {
    clearStaff();
    return null;
  }
  return s;
}

// expires_at as RFC 3339, seconds or milliseconds.
function expiryMs(value) {
  if (value === undefined || value === null) return null;
  if (typeof value === "number") return value < 1e12 ? value * 1000 : value;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

export function saveStaff(session) {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function clearStaff() {
  sessionStorage.removeItem(KEY);
}

// `fn()` is called when the server no longer accepts the staff token.
export function onUnauthorized(fn) {
  listeners.add(fn);
}

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const session = staffSession();
  if (session) headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError(0, "network", "");
  }
  const text = res.status === 204 ? "" : await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data?.code || `http_${res.status}`, data?.message || "");
    if (res.status === 401 && session && path !== "/api/auth/login") {
      clearStaff();
      listeners.forEach((fn) => fn(err));
    }
    throw err;
  }
  return data;
}

// Codes whose server message carries a useful detail (which rule, which field).
const DETAILED = new Set(["weak_password", "invalid_request", "invalid_date", "invalid_agenda", "conflict"]);

// An API error in words: ours for the codes we know (with the server's detail where
// it helps), else the server's message.
export function apiErrorText(e) {
  const code = e?.code || "generic";
  if (hasText(`apierr.${code}`)) {
    const ours = t(`apierr.${code}`);
    return DETAILED.has(code) && e.message && e.message !== code ? `${ours} (${e.message})` : ours;
  }
  if (e?.message && e.message !== code) return t("apierr.other", { message: e.message, code });
  return t("apierr.generic", { code, status: e?.status ?? "" });
}
