// The join token travels in the URL fragment (never sent to a server log). It is
// moved to sessionStorage so that the address bar no longer shows it and a reload
// still works.

const KEY = "seduta.token";

export function readToken() {
  const params = new URLSearchParams(location.hash.slice(1));
  const fromUrl = params.get("token");
  if (fromUrl) {
    sessionStorage.setItem(KEY, fromUrl);
    history.replaceState(null, "", location.pathname + location.search);
    return fromUrl;
  }
  return sessionStorage.getItem(KEY);
}

// The claims, for display only: the server verifies the signature.
export function claimsOf(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(
      atob(payload)
        .split("")
        .map((c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0"))
        .join(""),
    );
    const claims = JSON.parse(json);
    return typeof claims.session === "string" ? claims : null;
  } catch {
    return null;
  }
}
