// The screens. Find or create a person, a person's screen (with its follow-up and referral forms
// and a "done" button on each open follow-up), the encounter form, "to see again", the sync
// screen, joining a team (typed or scanned code) and who uses a shared phone render the core's
// view models (FieldView) and send the worker's actions as events (FieldEvent): every label,
// order and rule comes from Rust, and the core keeps the form being typed in the store. Joining
// and syncing go through the core's FieldApp too, which does the network through OkHttp and
// returns the next screen. No word is written here: titles, buttons and what a screen reader
// says come from the view models, in the worker's language. The organisation's own fields
// (a person's, an encounter's) are drawn as the core describes each one (CustomFieldItem).
package org.allervers.app

import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.*
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.selection.toggleable
import androidx.compose.foundation.text.KeyboardActions
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.*
import androidx.compose.runtime.*
import androidx.compose.ui.text.font.FontWeight
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.focus.onFocusChanged
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.platform.LocalFocusManager
import androidx.compose.ui.semantics.Role
import androidx.compose.ui.semantics.contentDescription
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.text.input.ImeAction
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import com.google.mlkit.vision.barcode.common.Barcode
import com.google.mlkit.vision.codescanner.GmsBarcodeScannerOptions
import com.google.mlkit.vision.codescanner.GmsBarcodeScanning
import org.allervers.logic.*
import uniffi.allervers_ffi.FfiException
import uniffi.allervers_ffi.FieldActionForm
import uniffi.allervers_ffi.FieldCustomControl
import uniffi.allervers_ffi.FieldEvent
import uniffi.allervers_ffi.FieldOpenAction
import uniffi.allervers_ffi.FieldPersonRow
import uniffi.allervers_ffi.FieldReferralForm
import uniffi.allervers_ffi.FieldStreetEdit
import uniffi.allervers_ffi.FieldView

class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val repo = (application as AllerversApp).repository
        setContent { MaterialTheme { App(repo) } }
    }
}

@Composable
fun App(repo: FieldRepository) {
    var view by remember { mutableStateOf<FieldView?>(null) }
    val scope = rememberCoroutineScope()
    // What was typed in a box of the organisation's own fields and not sent yet, by field name
    // (CustomFieldItem): sent when the worker leaves the box or presses done, else first thing
    // with whatever they do next (Save and Back included), in order, so that nothing typed is
    // lost; a value the core refuses stops there, its problem shown.
    val typed = remember { mutableMapOf<String, FieldEvent>() }
    // Every event goes to the core off the main thread; the view it returns is rendered.
    val send: (FieldEvent) -> Unit = { event ->
        val events = typed.values.toList() + event
        typed.clear()
        scope.launch {
            view = withContext(Dispatchers.IO) {
                var next = repo.send(events.first())
                for (e in events.drop(1)) {
                    if (next.problem != null) break
                    next = repo.send(e)
                }
                next
            }
        }
    }
    LaunchedEffect(Unit) { view = withContext(Dispatchers.IO) { repo.send(FieldEvent.Start) } }
    // The network calls: the core says what they came to in the screen it returns. A phone a
    // coordinator removed (its store erased) keeps the screen it had.
    val sync: () -> Unit = {
        scope.launch {
            withContext(Dispatchers.IO) { try { repo.sync(OkHttpExchange()) } catch (e: FfiException) { null } }?.let { view = it }
        }
    }
    val join: (String) -> Unit = { code ->
        scope.launch { view = withContext(Dispatchers.IO) { repo.join(code, OkHttpExchange()) } }
    }
    // The core's screen of the moment (the first: joining a team, or finding a person).
    when (val v = view) {
        null -> Unit
        is FieldView.Search -> SearchScreen(v, send, open = { send(FieldEvent.OpenPerson(it)) })
        is FieldView.Encounter -> EncounterScreen(v, send, typed)
        is FieldView.SeeAgain -> SeeAgainScreen(v, send, open = { send(FieldEvent.OpenPerson(it)) })
        is FieldView.Person -> PersonScreen(v, send, typed)
        is FieldView.Sync -> SyncScreen(v, send, sync)
        is FieldView.Join -> JoinScreen(v, send, join)
        is FieldView.Workers -> WorkersScreen(v, send)
    }
}

/** What the core refused, on the screens whose boxes of the organisation's fields wait to be sent. */
val FieldView.problem: String?
    get() = when (this) {
        is FieldView.Encounter -> view.problem
        is FieldView.Person -> view.problem
        else -> null
    }

/** The button back to the search, in the core's words (shown and read aloud). */
@Composable
fun BackButton(label: String, send: (FieldEvent) -> Unit) {
    TextButton(onClick = { send(FieldEvent.ShowSearch) }, modifier = Modifier.heightIn(min = 48.dp).semantics { contentDescription = label }) { Text(label) }
}

/** A person in a list, as the core labelled them. */
@Composable
fun PersonRowItem(p: FieldPersonRow, onClick: () -> Unit) {
    ListItem(
        headlineContent = { Text(p.title) },
        supportingContent = { Text(listOfNotNull(p.detail.ifBlank { null }, p.lastSeen, p.alert).joinToString(" · ")) },
        modifier = Modifier.clickable(onClick = onClick).heightIn(min = 48.dp),
    )
}

@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun SearchScreen(v: FieldView.Search, send: (FieldEvent) -> Unit, open: (String) -> Unit) {
    val s = v.view
    Scaffold(
        topBar = {
            TopAppBar(title = { Text(s.title) }, actions = {
                TextButton(onClick = { send(FieldEvent.ShowSeeAgain) }, modifier = Modifier.heightIn(min = 48.dp).semantics { contentDescription = s.seeAgainLabel }) { Text(s.seeAgainLabel) }
                BadgedBox(badge = { if (s.pendingChanges > 0uL) Badge { Text("${s.pendingChanges}") } }) {
                    TextButton(onClick = { send(FieldEvent.ShowSync) }, modifier = Modifier.heightIn(min = 48.dp).semantics { contentDescription = s.syncLabel }) { Text(s.syncLabel) }
                }
            })
        },
        floatingActionButton = {
            ExtendedFloatingActionButton(onClick = { send(FieldEvent.NewEncounter(null)) }, modifier = Modifier.heightIn(min = 48.dp).semantics { contentDescription = s.newEncounterLabel }) { Text(s.newEncounterLabel) }
        },
    ) { padding ->
        LazyColumn(Modifier.padding(padding).padding(12.dp)) {
            item {
                // Who uses the phone tonight, and the offer to change.
                Row {
                    Text(s.worker, Modifier.weight(1f).padding(vertical = 12.dp))
                    TextButton(onClick = { send(FieldEvent.ShowWorkers) }, modifier = Modifier.heightIn(min = 48.dp).semantics { contentDescription = "${s.changeWorker} : ${s.worker}" }) { Text(s.changeWorker) }
                }
                // What the phone's own sync came to while the app was closed, said once.
                s.syncNews?.let { Text(it, style = MaterialTheme.typography.bodyMedium) }
                OutlinedTextField(s.query, { send(FieldEvent.Search(it)) }, label = { Text(s.hint) }, modifier = Modifier.fillMaxWidth())
                if (s.followed.isNotEmpty()) Text(s.followed)
                s.notice?.let { Text(it) }
                s.problem?.let { Text(it, color = MaterialTheme.colorScheme.error) }
                s.create?.let { c ->
                    Row {
                        Button(onClick = { send(FieldEvent.Create(false)) }) { Text("${c.label} ${c.asName}") }
                        TextButton(onClick = { send(FieldEvent.Create(true)) }) { Text(c.asNickname) }
                    }
                }
                if (s.duplicates.isNotEmpty()) Text(s.duplicatesTitle, color = MaterialTheme.colorScheme.tertiary)
            }
            items(s.duplicates) { p -> PersonRowItem(p) { open(p.id) } }
            items(s.rows) { p -> PersonRowItem(p) { open(p.id) } }
            s.empty?.let { item { Text(it) } }
        }
    }
}

@OptIn(ExperimentalMaterial3Api::class, ExperimentalLayoutApi::class)
@Composable
fun EncounterScreen(v: FieldView.Encounter, send: (FieldEvent) -> Unit, typed: MutableMap<String, FieldEvent>) {
    val f = v.view
    Scaffold(topBar = { TopAppBar(title = { Text(f.title) }, navigationIcon = { BackButton(f.backLabel, send) }) }) { padding ->
        LazyColumn(Modifier.padding(padding).padding(12.dp)) {
            item {
                FlowRow {
                    f.persons.forEach { p ->
                        InputChip(selected = true, onClick = { send(FieldEvent.RemovePerson(p.id)) }, label = { Text(p.title) }, modifier = Modifier.heightIn(min = 48.dp).semantics { contentDescription = "${f.removeLabel} : ${p.title}" })
                    }
                }
                OutlinedTextField(f.search, { send(FieldEvent.SearchPerson(it)) }, label = { Text(f.searchLabel) }, modifier = Modifier.fillMaxWidth().semantics { contentDescription = f.searchLabel })
            }
            items(f.found) { p -> PersonRowItem(p) { send(FieldEvent.AddPerson(p.id)) } }
            item {
                // The anonymous stepper: each button says what it does, in the core's words.
                Row(verticalAlignment = Alignment.CenterVertically) {
                    OutlinedButton(enabled = f.canDecrease, onClick = { send(FieldEvent.Anonymous(-1L)) }, modifier = Modifier.heightIn(min = 48.dp).semantics { contentDescription = f.fewerLabel }) { Text("−") }
                    Text(f.anonymousLabel, Modifier.padding(12.dp))
                    OutlinedButton(onClick = { send(FieldEvent.Anonymous(1L)) }, modifier = Modifier.heightIn(min = 48.dp).semantics { contentDescription = f.moreLabel }) { Text("+") }
                }
                Text(f.servicesLabel, style = MaterialTheme.typography.titleSmall)
                FlowRow { f.services.forEach { c -> FilterChip(selected = c.selected, onClick = { send(FieldEvent.ToggleService(c.code)) }, label = { Text(c.label) }, modifier = Modifier.heightIn(min = 48.dp)) } }
                OutlinedTextField(f.place, { send(FieldEvent.Place(it)) }, label = { Text(f.placeLabel) }, modifier = Modifier.fillMaxWidth().semantics { contentDescription = f.placeLabel })
                FlowRow { f.recentPlaces.forEach { p -> SuggestionChip(onClick = { send(FieldEvent.Place(p)) }, label = { Text(p) }, modifier = Modifier.heightIn(min = 48.dp).semantics { contentDescription = "${f.placeLabel} : $p" }) } }
                Text(f.kindLabel, style = MaterialTheme.typography.titleSmall)
                FlowRow { f.kinds.forEach { c -> FilterChip(selected = c.selected, onClick = { send(FieldEvent.Kind(c.code)) }, label = { Text(c.label) }, modifier = Modifier.heightIn(min = 48.dp).semantics { contentDescription = "${f.kindLabel} : ${c.label}" }) } }
                OutlinedTextField(f.notes, { send(FieldEvent.Notes(it)) }, label = { Text(f.notesLabel) }, modifier = Modifier.fillMaxWidth().semantics { contentDescription = f.notesLabel })
                // The whole row toggles, the label read with the box.
                Row(
                    Modifier.fillMaxWidth().heightIn(min = 48.dp).toggleable(value = f.followUp, role = Role.Checkbox, onValueChange = { send(FieldEvent.FollowUp(it)) }),
                    verticalAlignment = Alignment.CenterVertically,
                ) {
                    Checkbox(f.followUp, onCheckedChange = null)
                    Text(f.followUpLabel, Modifier.padding(start = 12.dp))
                }
                // The organisation's own fields of encounters, kept in the form's draft.
                if (f.custom.isNotEmpty()) Text(f.customTitle, style = MaterialTheme.typography.titleMedium)
                f.custom.forEach { c -> key(c.name) { CustomFieldItem(c, typed, send) { name, value -> FieldEvent.EncounterCustom(name, value) } } }
                f.problem?.let { Text(it, color = MaterialTheme.colorScheme.error) }
                Button(enabled = f.canSave, onClick = { send(FieldEvent.Save) }, modifier = Modifier.heightIn(min = 48.dp).semantics { contentDescription = f.saveLabel }) { Text(f.saveLabel) }
            }
        }
    }
}

@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun SeeAgainScreen(v: FieldView.SeeAgain, send: (FieldEvent) -> Unit, open: (String) -> Unit) {
    val s = v.view
    Scaffold(topBar = { TopAppBar(title = { Text(s.title) }, navigationIcon = { BackButton(s.backLabel, send) }) }) { padding ->
        LazyColumn(Modifier.padding(padding).padding(12.dp)) {
            s.problem?.let { item { Text(it, color = MaterialTheme.colorScheme.error) } }
            s.empty?.let { item { Text(it) } }
            s.sections.forEach { section ->
                item { Text(section.title, style = MaterialTheme.typography.titleMedium) }
                items(section.rows) { p -> PersonRowItem(p) { open(p.id) } }
            }
        }
    }
}

@OptIn(ExperimentalMaterial3Api::class, ExperimentalLayoutApi::class)
@Composable
fun PersonScreen(v: FieldView.Person, send: (FieldEvent) -> Unit, typed: MutableMap<String, FieldEvent>) {
    val p = v.view
    Scaffold(
        topBar = { TopAppBar(title = { Text(p.title) }, navigationIcon = { BackButton(p.backLabel, send) }) },
        floatingActionButton = {
            ExtendedFloatingActionButton(onClick = { send(FieldEvent.NewEncounter(p.id)) }, modifier = Modifier.heightIn(min = 48.dp).semantics { contentDescription = p.newEncounterLabel }) { Text(p.newEncounterLabel) }
        },
    ) { padding ->
        LazyColumn(Modifier.padding(padding).padding(12.dp)) {
            item {
                if (p.subtitle.isNotEmpty()) Text(p.subtitle)
                p.facts.forEach { f -> Text("${f.label} : ${f.value}") }
                // What changes in the street, edited in place: each tap is a change of its own.
                Text(p.situationsLabel, style = MaterialTheme.typography.titleSmall)
                FlowRow { p.situations.forEach { c -> FilterChip(selected = c.selected, onClick = { send(FieldEvent.EditPerson(FieldStreetEdit.Situation(c.code))) }, label = { Text(c.label) }, modifier = Modifier.heightIn(min = 48.dp).semantics { contentDescription = "${p.situationsLabel} : ${c.label}" }) } }
                Text(p.needsLabel, style = MaterialTheme.typography.titleSmall)
                FlowRow { p.needs.forEach { c -> FilterChip(selected = c.selected, onClick = { send(FieldEvent.EditPerson(FieldStreetEdit.Need(c.code))) }, label = { Text(c.label) }, modifier = Modifier.heightIn(min = 48.dp).semantics { contentDescription = "${p.needsLabel} : ${c.label}" }) } }
                Text(p.alertsLabel, style = MaterialTheme.typography.titleSmall)
                FlowRow { p.alerts.forEach { c -> FilterChip(selected = c.selected, onClick = { send(FieldEvent.EditPerson(FieldStreetEdit.Alert(c.code))) }, label = { Text(c.label) }, modifier = Modifier.heightIn(min = 48.dp).semantics { contentDescription = "${p.alertsLabel} : ${c.label}" }) } }
                // The organisation's own fields of persons, each edit a change of its own.
                if (p.custom.isNotEmpty()) Text(p.customTitle, style = MaterialTheme.typography.titleMedium)
                p.custom.forEach { c -> key(c.name) { CustomFieldItem(c, typed, send) { name, value -> FieldEvent.EditPerson(FieldStreetEdit.Custom(name, value)) } } }
                p.problem?.let { Text(it, color = MaterialTheme.colorScheme.error) }
                if (p.conflicts.isNotEmpty()) Text("${p.conflictsTitle} : ${p.conflicts.joinToString()}", color = MaterialTheme.colorScheme.error)
                if (p.actions.isNotEmpty()) Text(p.actionsTitle, style = MaterialTheme.typography.titleMedium)
            }
            items(p.actions) { a -> OpenActionItem(a, p.done, p.doneCommentHint, p.overdueLabel, send) }
            item { ActionFormCard(p.actionForm, send) }
            if (p.referrals.isNotEmpty()) item { Text(p.referralsTitle, style = MaterialTheme.typography.titleMedium) }
            items(p.referrals) { r ->
                ListItem(
                    headlineContent = { Text(listOfNotNull(r.target, r.targetName).joinToString(" · ")) },
                    supportingContent = { Text(listOfNotNull(r.date, r.status).joinToString(" · ")) },
                )
            }
            item { ReferralFormCard(p.referralForm, send) }
            if (p.journey.isNotEmpty()) item { Text(p.journeyTitle, style = MaterialTheme.typography.titleMedium) }
            items(p.journey) { j ->
                ListItem(
                    headlineContent = { Text(j.situation, fontWeight = if (j.current) FontWeight.Bold else null) },
                    supportingContent = { Text(listOf(j.days, j.place).filter { it.isNotEmpty() }.joinToString(" · ")) },
                )
            }
            item { Text(p.timelineTitle, style = MaterialTheme.typography.titleMedium) }
            items(p.timeline) { e ->
                ListItem(
                    headlineContent = { Text("${e.what} — ${e.detail}") },
                    supportingContent = { Text(listOfNotNull(e.`when`, e.who, if (e.clockOff) p.clockOffLabel else null).joinToString(" · ")) },
                )
            }
        }
    }
}

/**
 * One of the organisation's own fields, as the core describes it; `event` makes the event that
 * sets it (the encounter form's or a person's edit). A value with no definition on this phone,
 * or a retired field, is only shown. A text, number or date box keeps what is typed in `typed`
 * until the worker leaves it or presses done (the core checks and trims the whole value, not
 * each keystroke); a yes/no or a choice sends the code chosen, and a code of several choices
 * is added or taken off by each tap. What is wrong with the value held is said beneath.
 */
@OptIn(ExperimentalLayoutApi::class)
@Composable
fun CustomFieldItem(c: FieldCustomControl, typed: MutableMap<String, FieldEvent>, send: (FieldEvent) -> Unit, event: (String, String) -> FieldEvent) {
    Column(Modifier.padding(vertical = 4.dp)) {
        when (if (c.editable) c.fieldType else "") {
            "text", "number", "date" -> {
                // What is typed, until the core's value changes (then what it kept).
                var text by remember(c.name, c.value) { mutableStateOf(c.value) }
                val focus = LocalFocusManager.current
                val commit = { typed.remove(c.name)?.let(send) }
                OutlinedTextField(
                    text,
                    {
                        text = it
                        if (it == c.value) typed.remove(c.name) else typed[c.name] = event(c.name, it)
                    },
                    label = { Text(c.label) },
                    isError = c.problem != null,
                    // A text may take several lines; a number or a date is one, done with the keyboard's key.
                    singleLine = c.fieldType != "text",
                    keyboardOptions = when (c.fieldType) {
                        "number" -> KeyboardOptions(keyboardType = KeyboardType.Decimal, imeAction = ImeAction.Done)
                        "date" -> KeyboardOptions(imeAction = ImeAction.Done)
                        else -> KeyboardOptions.Default
                    },
                    keyboardActions = KeyboardActions(onDone = { commit(); focus.clearFocus() }),
                    modifier = Modifier.fillMaxWidth().onFocusChanged { if (!it.isFocused) commit() }.semantics { contentDescription = c.label },
                )
            }
            "yes_no", "choice", "choices" -> {
                Text(c.label, style = MaterialTheme.typography.titleSmall)
                FlowRow {
                    c.choices.forEach { o ->
                        FilterChip(
                            selected = o.selected,
                            // The chosen one again changes nothing, but a code of several choices is taken off.
                            onClick = { if (c.fieldType == "choices" || !o.selected) send(event(c.name, o.code)) },
                            label = { Text(o.label) },
                            modifier = Modifier.heightIn(min = 48.dp).semantics { contentDescription = "${c.label} : ${o.label}" },
                        )
                    }
                }
            }
            else -> Text("${c.label} : ${c.shown}")
        }
        c.problem?.let { Text(it, color = MaterialTheme.colorScheme.error) }
    }
}

/** An open follow-up, with its "done" button: a tap shows the comment field, a second tap sends it. */
@Composable
fun OpenActionItem(a: FieldOpenAction, done: String, commentHint: String, overdue: String, send: (FieldEvent) -> Unit) {
    var closing by remember(a.id) { mutableStateOf(false) }
    var comment by remember(a.id) { mutableStateOf("") }
    ListItem(
        headlineContent = { Text(a.title) },
        supportingContent = {
            Column {
                // An overdue follow-up says so in words, not only in red.
                a.due?.let { Text(if (a.overdue) "$it · $overdue" else it, color = if (a.overdue) MaterialTheme.colorScheme.error else MaterialTheme.colorScheme.onSurface) }
                if (closing) {
                    OutlinedTextField(comment, { comment = it }, label = { Text(commentHint) }, modifier = Modifier.fillMaxWidth().semantics { contentDescription = commentHint })
                }
            }
        },
        trailingContent = {
            Button(
                onClick = { if (closing) send(FieldEvent.CompleteAction(a.id, comment)) else closing = true },
                modifier = Modifier.heightIn(min = 48.dp).semantics { contentDescription = "$done : ${a.title}" },
            ) { Text(done) }
        },
    )
}

/** The form that adds a follow-up: each keystroke and tap is an event (the core keeps the draft). */
@OptIn(ExperimentalLayoutApi::class)
@Composable
fun ActionFormCard(f: FieldActionForm, send: (FieldEvent) -> Unit) {
    Column(Modifier.padding(vertical = 8.dp)) {
        Text(f.heading, style = MaterialTheme.typography.titleMedium)
        OutlinedTextField(f.title, { send(FieldEvent.ActionTitle(it)) }, label = { Text(f.titleHint) }, modifier = Modifier.fillMaxWidth().semantics { contentDescription = f.titleHint })
        FlowRow {
            f.categories.forEach { c ->
                FilterChip(selected = c.selected, onClick = { send(FieldEvent.ActionCategory(c.code)) }, label = { Text(c.label) }, modifier = Modifier.heightIn(min = 48.dp).semantics { contentDescription = c.label })
            }
        }
        OutlinedTextField(f.due, { send(FieldEvent.ActionDue(it)) }, label = { Text(f.dueHint) }, modifier = Modifier.fillMaxWidth().semantics { contentDescription = f.dueHint })
        Row {
            Button(enabled = f.canAdd, onClick = { send(FieldEvent.AddAction) }, modifier = Modifier.heightIn(min = 48.dp).semantics { contentDescription = f.add }) { Text(f.add) }
            TextButton(enabled = f.canClear, onClick = { send(FieldEvent.ClearAction) }, modifier = Modifier.heightIn(min = 48.dp).semantics { contentDescription = "${f.clear} : ${f.heading}" }) { Text(f.clear) }
        }
    }
}

/** The form that adds a referral, as the follow-up's. */
@OptIn(ExperimentalLayoutApi::class)
@Composable
fun ReferralFormCard(f: FieldReferralForm, send: (FieldEvent) -> Unit) {
    Column(Modifier.padding(vertical = 8.dp)) {
        Text(f.heading, style = MaterialTheme.typography.titleMedium)
        FlowRow {
            f.targets.forEach { c ->
                FilterChip(selected = c.selected, onClick = { send(FieldEvent.ReferralTarget(c.code)) }, label = { Text(c.label) }, modifier = Modifier.heightIn(min = 48.dp).semantics { contentDescription = c.label })
            }
        }
        OutlinedTextField(f.targetName, { send(FieldEvent.ReferralName(it)) }, label = { Text(f.targetNameHint) }, modifier = Modifier.fillMaxWidth().semantics { contentDescription = f.targetNameHint })
        OutlinedTextField(f.date, { send(FieldEvent.ReferralDate(it)) }, label = { Text(f.dateHint) }, modifier = Modifier.fillMaxWidth().semantics { contentDescription = f.dateHint })
        Row {
            Button(enabled = f.canAdd, onClick = { send(FieldEvent.AddReferral) }, modifier = Modifier.heightIn(min = 48.dp).semantics { contentDescription = f.add }) { Text(f.add) }
            TextButton(enabled = f.canClear, onClick = { send(FieldEvent.ClearReferral) }, modifier = Modifier.heightIn(min = 48.dp).semantics { contentDescription = "${f.clear} : ${f.heading}" }) { Text(f.clear) }
        }
    }
}

@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun SyncScreen(v: FieldView.Sync, send: (FieldEvent) -> Unit, sync: () -> Unit) {
    val s = v.view
    Scaffold(topBar = { TopAppBar(title = { Text(s.title) }, navigationIcon = { BackButton(s.backLabel, send) }) }) { padding ->
        Column(Modifier.padding(padding).padding(12.dp)) {
            s.notice?.let { Text(it) }
            s.problem?.let { Text(it, color = MaterialTheme.colorScheme.error) }
            Text(s.pending, style = MaterialTheme.typography.titleMedium)
            Text(s.lastSuccess)
            s.lastFailure?.let { Text(it, color = MaterialTheme.colorScheme.error) }
            if (s.enrolled) {
                Button(onClick = sync, modifier = Modifier.fillMaxWidth().heightIn(min = 48.dp)) { Text(s.syncLabel) }
            }
            s.joinLabel?.let { label ->
                Button(onClick = { send(FieldEvent.ShowJoin) }, modifier = Modifier.fillMaxWidth().heightIn(min = 48.dp)) { Text(label) }
            }
        }
    }
}

@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun JoinScreen(v: FieldView.Join, send: (FieldEvent) -> Unit, join: (String) -> Unit) {
    val j = v.view
    val context = LocalContext.current
    Scaffold(topBar = { TopAppBar(title = { Text(j.title) }) }) { padding ->
        Column(Modifier.padding(padding).padding(12.dp)) {
            Text(j.explain)
            OutlinedTextField(j.code, { send(FieldEvent.JoinCode(it)) }, label = { Text(j.hint) }, isError = j.wrong != null, modifier = Modifier.fillMaxWidth())
            j.team?.let { Text(it, style = MaterialTheme.typography.titleMedium) }
            j.wrong?.let { Text(it, color = MaterialTheme.colorScheme.error) }
            j.problem?.let { Text(it, color = MaterialTheme.colorScheme.error) }
            // The QR code a coordinator shows: Google's code scanner reads it (no camera
            // permission asked here); its text goes to the core as if typed.
            OutlinedButton(onClick = {
                val options = GmsBarcodeScannerOptions.Builder().setBarcodeFormats(Barcode.FORMAT_QR_CODE).build()
                GmsBarcodeScanning.getClient(context, options).startScan().addOnSuccessListener { code ->
                    code.rawValue?.let { send(FieldEvent.JoinCode(it)) }
                }
            }, modifier = Modifier.fillMaxWidth().heightIn(min = 48.dp)) { Text(j.scanLabel) }
            Button(enabled = j.canJoin, onClick = { join(j.code) }, modifier = Modifier.fillMaxWidth().heightIn(min = 48.dp)) { Text(j.joinLabel) }
            TextButton(onClick = { send(FieldEvent.JoinLater) }, modifier = Modifier.fillMaxWidth().heightIn(min = 48.dp)) { Text(j.laterLabel) }
        }
    }
}

@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun WorkersScreen(v: FieldView.Workers, send: (FieldEvent) -> Unit) {
    val w = v.view
    var other by remember { mutableStateOf("") }
    Scaffold(topBar = { TopAppBar(title = { Text(w.title) }, navigationIcon = { BackButton(w.backLabel, send) }) }) { padding ->
        LazyColumn(Modifier.padding(padding).padding(12.dp)) {
            w.problem?.let { item { Text(it, color = MaterialTheme.colorScheme.error) } }
            items(w.workers) { worker ->
                ListItem(
                    headlineContent = { Text(worker.name) },
                    supportingContent = { if (worker.current) Text(w.currentLabel) },
                    trailingContent = { if (!worker.current) TextButton(onClick = { send(FieldEvent.ChooseWorker(worker.name)) }) { Text(w.chooseLabel) } },
                    modifier = Modifier.clickable { send(FieldEvent.ChooseWorker(worker.name)) }.heightIn(min = 48.dp)
                        .semantics { contentDescription = if (worker.current) "${worker.name}, ${w.currentLabel}" else "${w.chooseLabel} : ${worker.name}" },
                )
            }
            item {
                Row {
                    OutlinedTextField(other, { other = it }, label = { Text(w.otherHint) }, modifier = Modifier.weight(1f))
                    Button(onClick = { send(FieldEvent.ChooseWorker(other)) }, modifier = Modifier.heightIn(min = 48.dp)) { Text(w.chooseLabel) }
                }
            }
        }
    }
}
