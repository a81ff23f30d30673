//! The control log as a coordinator's device reads it: enrolments checked against their
//! invite, approved once, never again after a revocation, whatever a relay serves.

use crate::common::device;
use allervers_core::store::EnrolmentStatus;
use allervers_core::Store;
use allervers_protocol::{Control, ControlBody, ControlPage, Enroll};

fn coordinator(store: &Store) -> [u8; 16] {
    let mut m = store
        .new_space("http://relay.invalid", "Maraude test")
        .unwrap();
    m.token = "jeton".into();
    store.join_space(&m).unwrap();
    m.space
}

fn enrolled(seq: u64, invite_hash: [u8; 32], e: &Enroll) -> ControlPage {
    ControlPage {
        items: vec![Control {
            seq,
            body: ControlBody::Enrolled {
                invite: invite_hash,
                device: e.device,
                sign_key: e.sign_key,
                agree_key: e.agree_key,
                mac: e.mac,
            },
        }],
        next: seq,
        more: false,
    }
}

fn queued(store: &Store, space: &[u8; 16]) -> usize {
    store
        .control_batch(space)
        .unwrap()
        .map_or(0, |(post, _)| post.items.len())
}

#[test]
fn an_enrolment_is_approved_once_and_never_again_after_a_revocation_or_with_swapped_keys() {
    let office = device("Poste bureau", "Sophie");
    let phone = device("Téléphone", "Julien");
    let thief = device("Téléphone volé", "Inconnu");
    let space = coordinator(&office.store);
    let (_, invite) = office.store.new_invite().unwrap();
    let request = phone.store.enrolment(&invite);

    // Keys a relay swapped in (the thief's, with a MAC it cannot make): refused, nothing sent.
    let mut swapped = thief.store.enrolment(&invite);
    swapped.mac = request.mac;
    let done = office
        .store
        .apply_control(&space, &enrolled(1, invite.secret_hash(), &swapped))
        .unwrap();
    assert_eq!((done.approved, done.refused), (0, 1));
    assert_eq!(queued(&office.store, &space), 0);
    assert!(office
        .store
        .approve(&thief.store.identity().device.to_string())
        .is_err());

    // The genuine one: approved, the space's key queued for it.
    let done = office
        .store
        .apply_control(&space, &enrolled(2, invite.secret_hash(), &request))
        .unwrap();
    assert_eq!(done.approved, 1);
    assert_eq!(queued(&office.store, &space), 1);
    let list = office.store.enrolments().unwrap();
    let status = |store: &Store, list: &[allervers_core::store::Enrolment]| {
        list.iter()
            .find(|e| e.device == store.identity().device)
            .map(|e| e.status)
    };
    assert_eq!(status(&phone.store, &list), Some(EnrolmentStatus::Approved));
    assert_eq!(status(&thief.store, &list), Some(EnrolmentStatus::Refused));

    // Served again (a replaying relay): nothing more is queued.
    office
        .store
        .apply_control(&space, &enrolled(3, invite.secret_hash(), &request))
        .unwrap();
    assert_eq!(queued(&office.store, &space), 1);

    // Revoked, then served again: still nothing, and approve refuses it.
    office
        .store
        .wipe_order(&phone.store.identity().device)
        .unwrap();
    office
        .store
        .apply_control(&space, &enrolled(4, invite.secret_hash(), &request))
        .unwrap();
    assert_eq!(queued(&office.store, &space), 1);
    assert!(office
        .store
        .approve(&phone.store.identity().device.to_string())
        .is_err());
    // And the next epoch's key is not delivered to it.
    let undelivered = office
        .store
        .rotate(1, &[phone.store.identity().device.clone()])
        .unwrap();
    assert!(undelivered.is_empty());
    assert_eq!(queued(&office.store, &space), 1);
}
