// Console: the vote on the current item — open it (proposal or immediate
// executability), follow each entitled member's answer live, record answers called
// by name (appello nominale), close it.

import { actButton, h } from "../dom.js";
import { t } from "../i18n.js";
import { ballotText, countText, itemText, timeText, voteKindText } from "../meeting/labels.js";

const BALLOTS = ["favorevole", "contrario", "astenuto"];

export function votePanel(state) {
  const view = state.view;
  const item = state.currentItem();
  if (view.vote) return openVote(state, view.vote);
  if (view.phase !== "open") return h("p", { class: "muted" }, t("console.vote.closed_phase"));
  if (!item) return h("p", { class: "muted" }, t("console.vote.no_item"));
  const done = view.results.filter((r) => r.item === item.number);
  return [
    h("p", null, itemText(item)),
    h("div", { class: "button-row" },
      actButton(t("console.vote.open.deliberation"), { kind: "open_vote", vote: "deliberation", mode: "open" }, { testid: "open-vote-deliberation", cls: "primary" }),
      actButton(t("console.vote.open.immediate"), { kind: "open_vote", vote: "immediate_executability", mode: "open" }, { testid: "open-vote-immediate" }),
    ),
    done.length ? h("p", { class: "muted small" }, t("console.vote.done", { n: done.length })) : null,
  ];
}

function openVote(state, vote) {
  const item = state.view.agenda.find((a) => a.number === vote.item) ?? { number: vote.item };
  const missing = vote.entitled.filter((id) => !vote.ballots?.[id]).length;
  return [
    h("p", null, h("strong", null, t("vote.title", { n: vote.number, kind: voteKindText(vote.vote) })), " — ", itemText(item)),
    h("p", { class: "muted small" }, t("console.vote.opened", { time: timeText(vote.opened_at) })),
    h("p", { class: "tally", testid: "tally", "aria-live": "polite" }, countText(vote.count), " · ", t("vote.pending", { n: missing })),
    h("table", { class: "roll" },
      h("caption", { class: "sr-only" }, t("console.vote.roll")),
      h("thead", null, h("tr", null, h("th", { scope: "col" }, t("attendance.name")), h("th", { scope: "col" }, t("console.vote.answer")), h("th", { scope: "col" }, t("console.vote.record")))),
      h("tbody", null, vote.entitled.map((id) => {
        const ballot = vote.ballots?.[id];
        const name = state.nameOf(id);
        return h("tr", { testid: `roll-${id}` },
          h("th", { scope: "row" }, name),
          h("td", { testid: `ballot-${id}`, "data-ballot": ballot ?? "" }, ballot ? ballotText(ballot) : h("span", { class: "muted" }, t("console.vote.no_answer"))),
          h("td", { class: "row-actions" }, ballot ? null : BALLOTS.map((b) =>
            actButton(ballotText(b), { kind: "cast", ballot: b, participant: id }, {
              testid: `record-${id}-${b}`,
              cls: `small vote-${b}`,
              ariaLabel: t("console.vote.record_for", { name, ballot: ballotText(b) }),
            }),
          )),
        );
      })),
    ),
    h("div", { class: "button-row" },
      actButton(t("console.vote.close"), { kind: "close_vote" }, {
        testid: "close-vote",
        cls: "danger",
        confirm: missing ? "console.vote.close.confirm_missing" : "console.vote.close.confirm",
        vars: { n: missing },
      }),
    ),
  ];
}
