// Closed votes and their outcomes, with the names per answer (open votes are by
// name). Shared by the participants' side panel and the segretario's console.

import { h } from "../dom.js";
import { t } from "../i18n.js";
import { ballotText, countText, outcomeText, timeText, voteKindText } from "./labels.js";

export function resultsList(state) {
  const results = state.view?.results ?? [];
  if (results.length === 0) return h("p", { class: "muted" }, t("results.none"));
  return h("ol", { class: "results" }, [...results].reverse().map((r) => resultItem(state, r)));
}

function resultItem(state, r) {
  const names = (ballot) =>
    Object.entries(r.ballots || {})
      .filter(([, b]) => b === ballot)
      .map(([id]) => state.nameOf(id));
  const by = ["favorevole", "contrario", "astenuto"]
    .map((b) => [b, names(b)])
    .filter(([, list]) => list.length > 0)
    .map(([b, list]) => h("li", null, `${ballotText(b)}: ${list.join(", ")}`));
  return h("li", { class: `result ${r.outcome.approved ? "approved" : "rejected"}`, testid: `result-${r.number}` },
    h("div", { class: "result-head" },
      h("span", null, t("results.head", { n: r.number, item: r.item, kind: voteKindText(r.vote) })),
      h("strong", { class: "outcome" }, outcomeText(r.outcome)),
    ),
    h("div", { class: "result-count" }, countText(r.outcome.count)),
    by.length ? h("ul", { class: "result-names" }, by) : null,
    h("div", { class: "muted small" }, t("results.times", { opened: timeText(r.opened_at), closed: timeText(r.closed_at) })),
  );
}
