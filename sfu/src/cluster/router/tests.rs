use std::path::PathBuf;
use std::sync::Arc;

use seduta_recordings::StatsSnapshot;

use super::*;

/// A media node made of channels: it answers every request as a healthy node would,
/// and holds what it was asked.
struct FakeNode {
    to_router: Option<mpsc::Sender<String>>,
    asked: Arc<Mutex<Vec<Request>>>,
    answering: tokio::task::JoinHandle<()>,
    done: tokio::task::JoinHandle<Result<String, AttachError>>,
}

impl FakeNode {
    async fn attach(router: &Arc<Router>, name: &str, capacity: u64, status: NodeStatus) -> Self {
        let (to_router, incoming) = mpsc::channel(64);
        let (outgoing, mut from_router) = mpsc::unbounded_channel::<String>();
        let r = router.clone();
        let done = tokio::spawn(async move { r.attach(incoming, outgoing).await });
        let hello = FromNode::Hello {
            node: name.into(),
            capacity,
            status,
        };
        to_router
            .send(serde_json::to_string(&hello).expect("json"))
            .await
            .expect("send");
        let asked = Arc::new(Mutex::new(Vec::new()));
        let (answers, log) = (to_router.clone(), asked.clone());
        let answering = tokio::spawn(async move {
            while let Some(text) = from_router.recv().await {
                let ToNode::Request { id, request } = serde_json::from_str(&text).expect("json");
                let response = match &request {
                    Request::Tracks { .. } => Response::Tracks { tracks: vec![] },
                    Request::MediaGauges => Response::Gauges {
                        gauges: MediaGauges {
                            rooms: 1,
                            participants: 2,
                            ..MediaGauges::default()
                        },
                    },
                    Request::StopRecording { .. } => Response::RecordingStopped { summary: None },
                    _ => Response::Done,
                };
                log.lock().expect("lock").push(request);
                let reply = FromNode::Reply {
                    id,
                    result: Ok(response),
                };
                if answers
                    .send(serde_json::to_string(&reply).expect("json"))
                    .await
                    .is_err()
                {
                    break;
                }
            }
        });
        // Let the router take the hello.
        for _ in 0..100 {
            if router.nodes().iter().any(|n| n.node == name) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Self {
            to_router: Some(to_router),
            asked,
            answering,
            done,
        }
    }

    /// The node's channel drops.
    async fn lose(mut self) {
        self.answering.abort();
        let _ = (&mut self.answering).await;
        self.to_router.take();
        self.done.await.expect("join").expect("attached");
    }
}

fn load(participants: u64) -> NodeStatus {
    NodeStatus {
        rooms: participants.div_ceil(9),
        participants,
        draining: false,
    }
}

fn join(room: &str, who: &str) -> Request {
    Request::Join {
        room: RoomId(room.into()),
        participant: ParticipantId(who.into()),
        can_subscribe: true,
        publish_only: false,
    }
}

fn router() -> (Arc<Router>, mpsc::UnboundedReceiver<SfuEvent>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Arc::new(Router::new(tx)), rx)
}

#[tokio::test]
async fn a_session_goes_to_the_node_with_room_and_stays_there() {
    let (router, _events) = router();
    let a = FakeNode::attach(&router, "a", 100, load(60)).await;
    let b = FakeNode::attach(&router, "b", 100, load(10)).await;
    router.execute(join("s1", "sindaco")).await.expect("join");
    assert_eq!(router.placement(&RoomId("s1".into())).as_deref(), Some("b"));
    router.execute(join("s1", "assessore")).await.expect("join");
    assert_eq!(b.asked.lock().expect("lock").len(), 2);
    assert!(a.asked.lock().expect("lock").is_empty());
    // Requests that cannot create a room do not place one.
    let err = router
        .execute(Request::SetCanSubscribe {
            room: RoomId("nowhere".into()),
            participant: ParticipantId("x".into()),
            can_subscribe: true,
        })
        .await
        .expect_err("unplaced");
    assert_eq!(err.code(), "unknown_participant");
    assert!(router.placement(&RoomId("nowhere".into())).is_none());
    // Everyone leaves: the session is placed nowhere again.
    for who in ["sindaco", "assessore"] {
        router
            .execute(Request::Leave {
                room: RoomId("s1".into()),
                participant: ParticipantId(who.into()),
            })
            .await
            .expect("leave");
    }
    assert!(router.placement(&RoomId("s1".into())).is_none());
    // Gauges are summed over the nodes.
    let Response::Gauges { gauges } = router.execute(Request::MediaGauges).await.expect("gauges")
    else {
        panic!("gauges");
    };
    assert_eq!((gauges.rooms, gauges.participants), (2, 4));
}

#[tokio::test]
async fn a_lost_node_gives_its_sessions_back_and_the_next_join_goes_elsewhere() {
    let (router, mut events) = router();
    let a = FakeNode::attach(&router, "a", 100, load(0)).await;
    let _b = FakeNode::attach(&router, "b", 100, load(50)).await;
    let room = RoomId("s1".into());
    router.execute(join("s1", "sindaco")).await.expect("join");
    router.execute(join("s1", "vice")).await.expect("join");
    let spec = RecordingSpec {
        dir: PathBuf::from("/tmp/none"),
        mix_name: "mix".into(),
        min_free_bytes: 1,
    };
    let stats = router
        .start_recording(room.clone(), spec)
        .await
        .expect("record");
    assert_eq!(router.placement(&room).as_deref(), Some("a"));
    // The node's figures reach the mirror.
    let figures = FromNode::RecordingStats {
        room: room.clone(),
        stats: StatsSnapshot {
            bytes: 4096,
            ..StatsSnapshot::default()
        },
    };
    a.to_router
        .as_ref()
        .expect("open")
        .send(serde_json::to_string(&figures).expect("json"))
        .await
        .expect("send");
    for _ in 0..100 {
        if stats.bytes_written() == 4096 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(stats.bytes_written(), 4096);

    a.lose().await;
    let mut closed = BTreeSet::new();
    let mut alarm = false;
    while let Ok(event) = events.try_recv() {
        match event {
            SfuEvent::PeerStateChanged {
                participant,
                state: PeerState::Closed,
                reason: Some(reason),
                ..
            } if reason == NODE_LOST => {
                closed.insert(participant.0);
            }
            SfuEvent::RecordingAlarm {
                alarm: RecordingAlarm::MediaNodeLost,
                ..
            } => alarm = true,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(closed, BTreeSet::from(["sindaco".into(), "vice".into()]));
    assert!(alarm, "the recording's loss is reported");
    assert!(router.placement(&room).is_none());
    // The rejoin places the session on the remaining node.
    router.execute(join("s1", "sindaco")).await.expect("rejoin");
    assert_eq!(router.placement(&room).as_deref(), Some("b"));
}

#[tokio::test]
async fn draining_or_full_nodes_take_no_new_session() {
    let (router, _events) = router();
    let err = router.execute(join("s1", "x")).await.expect_err("no node");
    assert_eq!(err.code(), "no_media_capacity");
    let mut draining = load(0);
    draining.draining = true;
    let _a = FakeNode::attach(&router, "a", 100, draining).await;
    let _b = FakeNode::attach(&router, "b", 10, load(10)).await;
    let err = router.execute(join("s1", "x")).await.expect_err("no room");
    assert_eq!(err.code(), "no_media_capacity");
    assert!(router.placement(&RoomId("s1".into())).is_none());
}

#[tokio::test]
async fn a_channel_that_does_not_say_hello_is_refused() {
    let (router, _events) = router();
    let (to_router, incoming) = mpsc::channel(4);
    let (outgoing, _from_router) = mpsc::unbounded_channel();
    to_router
        .send(
            "{\"type\":\"status\",\"status\":{\"rooms\":0,\"participants\":0,\"draining\":false}}"
                .into(),
        )
        .await
        .expect("send");
    let result = router.attach(incoming, outgoing).await;
    assert!(matches!(result, Err(AttachError::NoHello)));
    assert!(router.nodes().is_empty());
}
