// Full screens that replace the grid while this participant is not in the meeting:
// the lobby (waiting to be identified, with their own preview), out for an item
// under art. 78, or not admitted. Never shown to the segretario.

import { h, patch } from "../dom.js";
import { t } from "../i18n.js";
import { itemText } from "./labels.js";

// Which screen, if any, the presence calls for.
export function screenFor(state) {
  if (!state.view || state.role === "segretario") return null;
  const p = state.presence?.state;
  return p === "lobby" || p === "abstaining" || p === "absent" ? p : null;
}

export function renderScreen({ root, text, preview }, state, localTrack) {
  const kind = screenFor(state);
  root.hidden = !kind;
  root.dataset.screen = kind || "";
  if (!kind) {
    preview.srcObject = null;
    text.replaceChildren();
    return;
  }
  const view = state.view;
  let body;
  if (kind === "lobby") {
    body = [
      h("h1", null, t("screen.lobby.title")),
      h("p", { role: "status" }, t("screen.lobby.body")),
      h("p", { class: "muted" }, view.title),
    ];
  } else if (kind === "abstaining") {
    const n = state.presence.item;
    const item = view.agenda.find((a) => a.number === n) ?? { number: n };
    body = [
      h("h1", null, t("screen.abstaining.title", { item: n })),
      h("p", { role: "status" }, t("screen.abstaining.body")),
      h("p", { class: "muted" }, itemText(item)),
    ];
  } else {
    body = [h("h1", null, t("screen.absent.title")), h("p", { role: "status" }, t("screen.absent.body"))];
  }
  patch(text, h("div", { testid: `screen-${kind}` }, body));
  const showPreview = kind === "lobby" && !!localTrack;
  preview.hidden = !showPreview;
  const current = preview.srcObject?.getVideoTracks?.()[0] ?? null;
  if (showPreview && current !== localTrack) preview.srcObject = new MediaStream([localTrack]);
  if (!showPreview) preview.srcObject = null;
}
