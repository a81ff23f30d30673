//! The form being typed, kept in the store so that nothing is lost when the app is killed: the
//! encounter form, or a person's screen with a follow-up or a referral typed halfway. It is
//! written (one upsert, `Store::save_draft`) after each event that changed it, read back by
//! `Event::Start`, and dropped once the form is saved or left. A draft that cannot be read back
//! (an older shape, damaged bytes) is dropped, and the worker told so in one sentence.

use serde::{Deserialize, Serialize};

use super::encounter::Draft;
use super::person_forms::Forms;
use super::Screen;
use crate::{Result, Store};

/// The draft's name in the store.
const NAME: &str = "field";

/// The shape of the draft this build writes; another is not read.
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Form {
    Encounter(Draft),
    Person(Forms),
}

#[derive(Serialize, Deserialize)]
struct Saved {
    version: u32,
    form: Form,
}

/// What the store holds of the form, as this app last wrote or read it.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Kept {
    /// Not known yet (a draft of an earlier run may be there).
    Unknown,
    Nothing,
    Bytes(Vec<u8>),
}

/// What `Start` finds in the store.
pub(super) enum Found {
    Nothing,
    Form(Box<Screen>, Vec<u8>),
    /// A draft was there and could not be read back; it is dropped.
    Unreadable,
}

/// The bytes that keep `screen`'s form, or `None` when there is nothing worth keeping.
fn encode(screen: &Screen) -> Option<Vec<u8>> {
    let form = match screen {
        Screen::Encounter(draft) => Form::Encounter(draft.clone()),
        Screen::Person(forms) if forms.typed() => Form::Person(forms.clone()),
        _ => return None,
    };
    serde_json::to_vec(&Saved {
        version: VERSION,
        form,
    })
    .ok()
}

/// Writes `screen`'s form to the store when it changed since `kept`, or drops the draft when
/// there is no form any more.
pub(super) fn keep(store: &Store, screen: &Screen, kept: &mut Kept) -> Result<()> {
    let next = match encode(screen) {
        Some(bytes) => Kept::Bytes(bytes),
        None => Kept::Nothing,
    };
    if next == *kept {
        return Ok(());
    }
    match &next {
        Kept::Bytes(bytes) => store.save_draft(NAME, bytes)?,
        _ => store.drop_draft(NAME)?,
    }
    *kept = next;
    Ok(())
}

/// The form kept in the store. One that cannot be read back is dropped.
pub(super) fn find(store: &Store) -> Result<Found> {
    let Some(bytes) = store.draft(NAME)? else {
        return Ok(Found::Nothing);
    };
    match serde_json::from_slice::<Saved>(&bytes) {
        Ok(saved) if saved.version == VERSION => {
            let screen = match saved.form {
                Form::Encounter(draft) => Screen::Encounter(draft),
                Form::Person(forms) => Screen::Person(forms),
            };
            Ok(Found::Form(Box::new(screen), bytes))
        }
        _ => {
            store.drop_draft(NAME)?;
            Ok(Found::Unreadable)
        }
    }
}
