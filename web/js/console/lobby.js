// Console: the lobby queue. Each waiting person with their video (the server
// forwards lobby media only to the segretario; the grid moves their tile into the
// row's slot), and "Identifica e ammetti" / "Rifiuta". Rows are kept by id so
// that a playing video is not torn down at every update.

import { actButton, h, patch } from "../dom.js";
import { t } from "../i18n.js";
import { roleText, timeText } from "../meeting/labels.js";

export class LobbyQueue {
  constructor(root) {
    this.root = root;
    this.list = h("ul", { class: "lobby-list", testid: "lobby" });
    this.empty = h("p", { class: "muted" });
    root.append(this.empty, this.list);
    this.rows = new Map(); // id -> {row, slot, info}
  }

  // Returns whether the set of waiting people changed (tiles must be placed again).
  render(state) {
    const waiting = (state.view?.people ?? []).filter((p) => p.presence.state === "lobby");
    const ids = new Set(waiting.map((p) => p.id));
    let changed = false;
    for (const [id, entry] of this.rows) {
      if (!ids.has(id)) {
        entry.row.remove();
        this.rows.delete(id);
        changed = true;
      }
    }
    for (const p of waiting) {
      let entry = this.rows.get(p.id);
      if (!entry) {
        const slot = h("div", { class: "lobby-video", role: "group", "aria-label": t("lobby.video", { name: p.name }) });
        const info = h("div", { class: "lobby-info" });
        const row = h("li", { class: "lobby-row", testid: `lobby-row-${p.id}` }, slot, info);
        entry = { row, slot, info };
        this.rows.set(p.id, entry);
        changed = true;
      }
      this.list.appendChild(entry.row); // keeps the server's order
      entry.slot.setAttribute("aria-label", t("lobby.video", { name: p.name }));
      patch(entry.info, [
        h("div", { class: "lobby-name" }, h("strong", null, p.name), " ", h("span", { class: "muted" }, roleText(p.role))),
        h("div", { class: "small" },
          t(p.camera_on ? "lobby.camera_on" : "lobby.camera_off"),
          " · ",
          t(p.mic_on ? "lobby.mic_on" : "lobby.mic_off"),
          p.since ? ` · ${t("lobby.since", { time: timeText(p.since) })}` : "",
        ),
        h("div", { class: "button-row" },
          actButton(t("lobby.identify"), { kind: "identify", participant: p.id, camera_on: !!p.camera_on }, { testid: `identify-${p.id}`, cls: "primary" }),
          actButton(t("lobby.refuse"), { kind: "refuse", participant: p.id }, { testid: `refuse-${p.id}`, confirm: "lobby.refuse.confirm", vars: { name: p.name } }),
        ),
      ]);
    }
    this.empty.textContent = waiting.length ? "" : t("lobby.empty");
    this.empty.hidden = waiting.length > 0;
    return changed;
  }

  slotFor(id) {
    return this.rows.get(id)?.slot ?? null;
  }
}
