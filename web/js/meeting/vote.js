// The participants' side panel: the vote prompt (three big buttons) when a vote is
// open and they may vote, what they answered once cast, the live tally, and the
// outcomes of closed votes.

import { actButton, h, patch } from "../dom.js";
import { t } from "../i18n.js";
import { ballotText, countText, itemText, voteKindText } from "./labels.js";
import { resultsList } from "./results.js";

const BALLOTS = ["favorevole", "contrario", "astenuto"];

export function renderVoteSide(root, state) {
  const view = state.view;
  const show = !!view && (!!view.vote || view.results.length > 0);
  root.hidden = !show;
  if (!show) return;
  patch(root, [
    view.vote ? votePrompt(state, view.vote) : null,
    h("section", { class: "side-block" },
      h("h2", null, t("results.title")),
      resultsList(state),
    ),
  ]);
}

function votePrompt(state, vote) {
  const entitled = vote.entitled.includes(state.meId);
  const mine = vote.ballots?.[state.meId];
  const item = state.view.agenda.find((a) => a.number === vote.item) ?? { number: vote.item };
  const pending = vote.count.presenti - vote.count.favorevoli - vote.count.contrari - vote.count.astenuti;
  return h("section", { class: "side-block vote-prompt", testid: "vote-prompt", "aria-live": "polite" },
    h("h2", null, t("vote.title", { n: vote.number, kind: voteKindText(vote.vote) })),
    h("p", { class: "vote-item" }, itemText(item)),
    entitled
      ? h("div", { class: "vote-buttons", role: "group", "aria-label": t("vote.group") },
          BALLOTS.map((b) =>
            actButton(ballotText(b), { kind: "cast", ballot: b }, {
              testid: `vote-${b}`,
              cls: `vote-${b}`,
              disabled: !!mine,
              pressed: mine ? mine === b : undefined,
            }),
          ),
        )
      : h("p", { class: "muted" }, t("vote.not_entitled")),
    mine ? h("p", { class: "my-ballot", testid: "my-ballot", role: "status" }, t("vote.cast", { ballot: ballotText(mine) })) : null,
    entitled && !mine ? h("p", { class: "muted" }, t("vote.hint")) : null,
    h("p", { class: "tally", testid: "tally" }, countText(vote.count), " · ", t("vote.pending", { n: Math.max(0, pending) })),
  );
}
