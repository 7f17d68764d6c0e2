use crate::protocol::{ConnectionState, ErrorCode, LeaveReason, Participant, ServerMessage};

use super::{ConnId, RoomInput, RoomOutput};

/// One participant's place in the room.
#[derive(Debug, Clone)]
struct Seat {
    info: Participant,
    /// The live connection, `None` while reconnecting.
    conn: Option<ConnId>,
    /// Bumped on every connection change, so that stale grace timers do nothing.
    epoch: u64,
}

/// The participants of one session and their connection state.
#[derive(Debug, Default)]
pub struct Room {
    /// In join order: the order everyone sees.
    seats: Vec<Seat>,
}

impl Room {
    /// An empty room.
    pub fn new() -> Self {
        Self::default()
    }

    /// Participants in join order.
    pub fn participants(&self) -> impl Iterator<Item = &Participant> {
        self.seats.iter().map(|s| &s.info)
    }

    /// The participant on `conn`, if any.
    pub fn participant_of(&self, conn: ConnId) -> Option<&Participant> {
        self.seats
            .iter()
            .find(|s| s.conn == Some(conn))
            .map(|s| &s.info)
    }

    /// The live connection of `participant`, if any.
    pub fn conn_of(&self, participant: &str) -> Option<ConnId> {
        self.seats
            .iter()
            .find(|s| s.info.id == participant)
            .and_then(|s| s.conn)
    }

    /// Every live connection with its participant id.
    pub fn connections(&self) -> impl Iterator<Item = (ConnId, &str)> {
        self.seats
            .iter()
            .filter_map(|s| s.conn.map(|c| (c, s.info.id.as_str())))
    }

    /// Applies one input; returns the effects to carry out, in order.
    pub fn handle(&mut self, input: RoomInput) -> Vec<RoomOutput> {
        match input {
            RoomInput::Join { conn, claims } => self.join(conn, claims),
            RoomInput::Leave { conn } => self.leave(conn),
            RoomInput::ConnectionLost { conn } => self.connection_lost(conn),
            RoomInput::GraceExpired { participant, epoch } => {
                self.grace_expired(&participant, epoch)
            }
            RoomInput::MediaState {
                conn,
                audio_muted,
                video_muted,
            } => self.media_state(conn, audio_muted, video_muted),
            RoomInput::Remove { participant, code } => self.remove(&participant, code),
        }
    }

    fn join(&mut self, conn: ConnId, claims: crate::auth::Claims) -> Vec<RoomOutput> {
        let mut out = Vec::new();
        if let Some(idx) = self.seats.iter().position(|s| s.info.id == claims.sub) {
            // The same person again: a reconnection, or a second tab that takes over.
            let seat = &mut self.seats[idx];
            if let Some(old) = seat.conn.replace(conn) {
                out.push(RoomOutput::Close {
                    conn: old,
                    code: ErrorCode::SessionReplaced,
                });
            }
            seat.epoch += 1;
            seat.info.connection = ConnectionState::Connected;
            seat.info.name = claims.name;
            seat.info.role = claims.role;
            let info = seat.info.clone();
            out.push(self.joined(conn, &info, true));
            out.push(RoomOutput::Broadcast {
                except: Some(info.id.clone()),
                msg: ServerMessage::ParticipantUpdated {
                    participant: info.clone(),
                },
            });
            out.push(RoomOutput::MediaJoin {
                participant: info.id,
                fresh: true,
            });
            return out;
        }
        let info = Participant {
            id: claims.sub,
            name: claims.name,
            role: claims.role,
            audio_muted: false,
            video_muted: false,
            connection: ConnectionState::Connected,
        };
        self.seats.push(Seat {
            info: info.clone(),
            conn: Some(conn),
            epoch: 0,
        });
        out.push(self.joined(conn, &info, false));
        out.push(RoomOutput::Broadcast {
            except: Some(info.id.clone()),
            msg: ServerMessage::ParticipantJoined {
                participant: info.clone(),
            },
        });
        out.push(RoomOutput::MediaJoin {
            participant: info.id,
            fresh: false,
        });
        out
    }

    fn joined(&self, conn: ConnId, me: &Participant, resumed: bool) -> RoomOutput {
        RoomOutput::Joined {
            conn,
            participant: me.clone(),
            others: self
                .seats
                .iter()
                .filter(|s| s.info.id != me.id)
                .map(|s| s.info.clone())
                .collect(),
            resumed,
        }
    }

    fn leave(&mut self, conn: ConnId) -> Vec<RoomOutput> {
        let Some(idx) = self.seats.iter().position(|s| s.conn == Some(conn)) else {
            return Vec::new();
        };
        let mut out = vec![RoomOutput::CloseNormal { conn }];
        out.extend(self.remove_seat(idx, LeaveReason::Left));
        out
    }

    fn remove(&mut self, participant: &str, code: ErrorCode) -> Vec<RoomOutput> {
        let Some(idx) = self.seats.iter().position(|s| s.info.id == participant) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if let Some(conn) = self.seats[idx].conn {
            out.push(RoomOutput::Close { conn, code });
        }
        out.extend(self.remove_seat(idx, LeaveReason::Removed));
        out
    }

    /// Removes a seat: media gone, everyone told, and the room reported empty if it is.
    fn remove_seat(&mut self, idx: usize, reason: LeaveReason) -> Vec<RoomOutput> {
        let seat = self.seats.remove(idx);
        let mut out = vec![
            RoomOutput::MediaLeave {
                participant: seat.info.id.clone(),
            },
            RoomOutput::Broadcast {
                except: None,
                msg: ServerMessage::ParticipantLeft {
                    participant_id: seat.info.id,
                    reason,
                },
            },
        ];
        if self.seats.is_empty() {
            out.push(RoomOutput::Empty);
        }
        out
    }

    fn connection_lost(&mut self, conn: ConnId) -> Vec<RoomOutput> {
        // A connection that was already replaced or has left is not the seat's any more.
        let Some(seat) = self.seats.iter_mut().find(|s| s.conn == Some(conn)) else {
            return Vec::new();
        };
        seat.conn = None;
        seat.epoch += 1;
        seat.info.connection = ConnectionState::Reconnecting;
        vec![
            RoomOutput::Broadcast {
                except: Some(seat.info.id.clone()),
                msg: ServerMessage::ParticipantUpdated {
                    participant: seat.info.clone(),
                },
            },
            RoomOutput::StartGraceTimer {
                participant: seat.info.id.clone(),
                epoch: seat.epoch,
            },
        ]
    }

    fn grace_expired(&mut self, participant: &str, epoch: u64) -> Vec<RoomOutput> {
        let Some(idx) = self
            .seats
            .iter()
            .position(|s| s.info.id == participant && s.epoch == epoch && s.conn.is_none())
        else {
            return Vec::new();
        };
        self.remove_seat(idx, LeaveReason::Timeout)
    }

    fn media_state(&mut self, conn: ConnId, audio: bool, video: bool) -> Vec<RoomOutput> {
        let Some(seat) = self.seats.iter_mut().find(|s| s.conn == Some(conn)) else {
            return Vec::new();
        };
        if seat.info.audio_muted == audio && seat.info.video_muted == video {
            return Vec::new();
        }
        seat.info.audio_muted = audio;
        seat.info.video_muted = video;
        vec![RoomOutput::Broadcast {
            except: None,
            msg: ServerMessage::ParticipantUpdated {
                participant: seat.info.clone(),
            },
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Claims, Role};

    fn claims(sub: &str) -> Claims {
        Claims {
            sub: sub.into(),
            session: "s".into(),
            role: Role::Member,
            name: format!("Name {sub}"),
            exp: 0,
            nbf: 0,
            aud: "seduta".into(),
            jti: None,
        }
    }

    fn join(room: &mut Room, conn: u64, sub: &str) -> Vec<RoomOutput> {
        room.handle(RoomInput::Join {
            conn: ConnId(conn),
            claims: claims(sub),
        })
    }

    #[test]
    fn newcomer_is_announced_to_the_others_and_gets_media() {
        let mut room = Room::new();
        join(&mut room, 1, "a");
        let out = join(&mut room, 2, "b");
        assert!(
            matches!(&out[0], RoomOutput::Joined { others, resumed: false, .. } if others.len() == 1)
        );
        assert!(
            matches!(&out[1], RoomOutput::Broadcast { except: Some(e), msg: ServerMessage::ParticipantJoined { .. } } if e == "b")
        );
        assert_eq!(
            out[2],
            RoomOutput::MediaJoin {
                participant: "b".into(),
                fresh: false
            }
        );
    }

    #[test]
    fn lost_connection_keeps_the_seat_until_grace_expires() {
        let mut room = Room::new();
        join(&mut room, 1, "a");
        join(&mut room, 2, "b");
        let out = room.handle(RoomInput::ConnectionLost { conn: ConnId(2) });
        let RoomOutput::StartGraceTimer { epoch, .. } = out[1].clone() else {
            panic!("expected a grace timer, got {out:?}");
        };
        assert_eq!(room.participants().count(), 2);
        let out = room.handle(RoomInput::GraceExpired {
            participant: "b".into(),
            epoch,
        });
        assert!(out.iter().any(|o| matches!(
            o,
            RoomOutput::Broadcast {
                msg: ServerMessage::ParticipantLeft {
                    reason: LeaveReason::Timeout,
                    ..
                },
                ..
            }
        )));
        assert_eq!(room.participants().count(), 1);
    }

    #[test]
    fn resume_within_grace_cancels_the_timer() {
        let mut room = Room::new();
        join(&mut room, 1, "a");
        let out = room.handle(RoomInput::ConnectionLost { conn: ConnId(1) });
        let RoomOutput::StartGraceTimer { epoch, .. } = out[1].clone() else {
            panic!("expected a grace timer");
        };
        let out = join(&mut room, 3, "a");
        assert!(matches!(&out[0], RoomOutput::Joined { resumed: true, .. }));
        let out = room.handle(RoomInput::GraceExpired {
            participant: "a".into(),
            epoch,
        });
        assert!(out.is_empty(), "stale timer must do nothing: {out:?}");
        assert_eq!(room.conn_of("a"), Some(ConnId(3)));
    }

    #[test]
    fn second_connection_replaces_the_first() {
        let mut room = Room::new();
        join(&mut room, 1, "a");
        let out = join(&mut room, 2, "a");
        assert_eq!(
            out[0],
            RoomOutput::Close {
                conn: ConnId(1),
                code: ErrorCode::SessionReplaced
            }
        );
        // The replaced connection closing later must not mark the seat lost.
        assert!(
            room.handle(RoomInput::ConnectionLost { conn: ConnId(1) })
                .is_empty()
        );
        assert_eq!(room.participants().count(), 1);
    }

    #[test]
    fn leave_removes_and_reports_empty() {
        let mut room = Room::new();
        join(&mut room, 1, "a");
        let out = room.handle(RoomInput::Leave { conn: ConnId(1) });
        assert_eq!(out.last(), Some(&RoomOutput::Empty));
        assert_eq!(room.participants().count(), 0);
    }

    #[test]
    fn unchanged_media_state_is_not_broadcast() {
        let mut room = Room::new();
        join(&mut room, 1, "a");
        let set = |room: &mut Room| {
            room.handle(RoomInput::MediaState {
                conn: ConnId(1),
                audio_muted: true,
                video_muted: false,
            })
        };
        assert_eq!(set(&mut room).len(), 1);
        assert!(set(&mut room).is_empty());
    }
}
