// Console: the agenda, with the item under discussion marked and a button to bring
// another item forward.

import { actButton, h } from "../dom.js";
import { t } from "../i18n.js";

export function agendaList(state) {
  const view = state.view;
  if (view.agenda.length === 0) return h("p", { class: "muted" }, t("agenda.empty"));
  return h("ol", { class: "agenda" }, view.agenda.map((a) => {
    const current = a.number === view.current_item;
    return h("li", { class: current ? "current" : null, "aria-current": current ? "true" : null, testid: `agenda-item-${a.number}` },
      h("span", { class: "agenda-n" }, `${a.number}.`),
      h("span", { class: "agenda-subject" }, a.subject),
      current ? h("span", { class: "badge" }, t("agenda.current")) : null,
      view.phase === "open" && !current
        ? actButton(t("agenda.open"), { kind: "open_item", item: a.number }, { testid: `open-item-${a.number}`, disabled: !!view.vote, title: view.vote ? t("agenda.vote_open") : null })
        : null,
    );
  }));
}
