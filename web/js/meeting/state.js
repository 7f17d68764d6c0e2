// The meeting as the server last described it: the MeetingView (sent in full after
// every change), this participant's own presence, and the alerts received. Absent
// (view null) for a plain call that is not a stored session.

export const MEMBER_ROLES = new Set(["presiding", "member"]);

export class MeetingState extends EventTarget {
  constructor() {
    super();
    this.view = null;
    this.presence = null;
    this.alerts = []; // {lost, at} from meeting_alert, newest last
    this.meId = null;
    this.role = null;
    this.recording = { state: "off" }; // {state: off|recording|paused, since}
    this.recordingFailures = []; // {participant_id, track, message, at}, for the segretario
    this.recordingAlarm = null; // {code, message, stopped, at}, for the segretario
  }

  // A new connection. A resumed one keeps what is known until the server's update.
  joined(me, resumed) {
    this.meId = me.id;
    this.role = me.role;
    if (!resumed) {
      this.view = null;
      this.presence = null;
      this.alerts = [];
      this.recording = { state: "off" };
      this.recordingFailures = [];
      this.recordingAlarm = null;
    }
  }

  reset() {
    this.view = null;
    this.presence = null;
    this.alerts = [];
    this.recording = { state: "off" };
    this.recordingFailures = [];
    this.recordingAlarm = null;
    this.changed();
  }

  // Takes the meeting messages; returns whether `msg` was one.
  handle(msg) {
    switch (msg.type) {
      case "meeting":
        this.view = msg.state;
        // The view has the state only; `since` comes with the `recording` message.
        if (msg.state.recording && msg.state.recording.state !== this.recording.state) this.recording = msg.state.recording;
        this.presence = this.person(this.meId)?.presence ?? this.presence;
        this.alerts = this.alerts.filter((a) => this.view.phase === "open" && this.view.alerts.includes(a.lost));
        this.changed();
        return true;
      case "your_presence":
        this.presence = msg.presence;
        this.changed();
        return true;
      case "recording":
        this.recording = { state: msg.state, since: msg.since };
        // A disk alarm stays until the recording runs again.
        if (msg.state === "recording" && this.recordingAlarm?.stopped) this.recordingAlarm = null;
        this.changed();
        return true;
      case "recording_failed":
        this.recordingFailures = [...this.recordingFailures.slice(-4), { ...msg, at: Date.now() }];
        this.changed();
        return true;
      case "recording_alarm":
        this.recordingAlarm = { code: msg.code, message: msg.message, stopped: msg.stopped, at: Date.now() };
        this.changed();
        return true;
      case "meeting_alert":
        this.alerts = [...this.alerts.filter((a) => a.lost !== msg.lost), { lost: msg.lost, at: Date.now() }];
        this.changed();
        return true;
      default:
        return false;
    }
  }

  changed() {
    this.dispatchEvent(new Event("change"));
  }

  get active() {
    return this.view !== null;
  }

  person(id) {
    return this.view?.people.find((p) => p.id === id) ?? null;
  }

  nameOf(id) {
    return this.person(id)?.name ?? id;
  }

  // What is lost now: the view's alerts, and alerts received since the last view.
  lostNow() {
    if (this.view && this.view.phase !== "open") return [];
    return [...new Set([...(this.view?.alerts ?? []), ...this.alerts.map((a) => a.lost)])];
  }

  currentItem() {
    const n = this.view?.current_item;
    return n === undefined || n === null ? null : (this.view.agenda.find((a) => a.number === n) ?? { number: n, subject: "" });
  }

  isMember(role = this.role) {
    return MEMBER_ROLES.has(role);
  }
}
