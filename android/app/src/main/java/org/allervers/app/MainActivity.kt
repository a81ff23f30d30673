// The screens: the person list with search (and the pending-sync badge and sync button), a
// person's merged timeline, the encounter form (a known person in three taps: the person, the
// services, save), and the due actions. They render the states of org.allervers.logic.
package org.allervers.app

import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.*
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.*
import androidx.compose.runtime.*
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import java.text.SimpleDateFormat
import java.util.Date
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.allervers.logic.*

sealed interface Screen {
    data object Join : Screen
    data object Persons : Screen
    data class Person(val id: String) : Screen
    data class LogEncounter(val personId: String?) : Screen
    data object Due : Screen
}

class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val repo = (application as AllerversApp).repository
        setContent { MaterialTheme { App(repo) } }
    }
}

@Composable
fun App(repo: FieldRepository) {
    var screen by remember { mutableStateOf<Screen>(if (repo.isEnrolled()) Screen.Persons else Screen.Join) }
    when (val s = screen) {
        Screen.Join -> JoinScreen(repo, joined = { screen = Screen.Persons })
        Screen.Persons -> PersonListScreen(repo, open = { screen = Screen.Person(it) }, log = { screen = Screen.LogEncounter(null) }, due = { screen = Screen.Due })
        is Screen.Person -> PersonScreen(repo, s.id, back = { screen = Screen.Persons }, log = { screen = Screen.LogEncounter(s.id) })
        is Screen.LogEncounter -> EncounterScreen(repo, s.personId, done = { screen = Screen.Persons })
        Screen.Due -> DueScreen(repo, back = { screen = Screen.Persons })
    }
}

@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun PersonListScreen(repo: FieldRepository, open: (String) -> Unit, log: () -> Unit, due: () -> Unit) {
    var search by remember { mutableStateOf("") }
    var state by remember { mutableStateOf(PersonListState()) }
    var message by remember { mutableStateOf<String?>(null) }
    val scope = rememberCoroutineScope()
    LaunchedEffect(search) { state = withContext(Dispatchers.IO) { repo.personList(search) } }
    Scaffold(
        topBar = {
            TopAppBar(title = { Text("Personnes") }, actions = {
                TextButton(onClick = due) { Text("Échéances") }
                BadgedBox(badge = { if (state.pendingChanges > 0uL) Badge { Text("${state.pendingChanges}") } }) {
                    TextButton(onClick = {
                        scope.launch {
                            val result = withContext(Dispatchers.IO) { repo.sync(OkHttpExchange(), null) }
                            message = result.fold({ it }, { (it as? uniffi.allervers_ffi.FfiException)?.toProblem()?.message ?: "Erreur" })
                            state = withContext(Dispatchers.IO) { repo.personList(search) }
                        }
                    }) { Text("Synchroniser") }
                }
            })
        },
        floatingActionButton = { FloatingActionButton(onClick = log) { Text("+") } },
    ) { padding ->
        Column(Modifier.padding(padding).padding(12.dp)) {
            OutlinedTextField(search, { search = it }, label = { Text("Rechercher") }, modifier = Modifier.fillMaxWidth())
            (message ?: state.problem?.message)?.let { Text(it, color = MaterialTheme.colorScheme.error) }
            LazyColumn {
                items(state.persons) { p ->
                    ListItem(
                        headlineContent = { Text(p.displayName) },
                        supportingContent = { Text(listOfNotNull(p.situation, p.lastSeenAtMs?.let { day(it) }).joinToString(" · ")) },
                        modifier = Modifier.clickable { open(p.id) },
                    )
                }
            }
        }
    }
}

fun day(ms: Long): String = SimpleDateFormat("dd/MM HH:mm").format(Date(ms))

@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun PersonScreen(repo: FieldRepository, id: String, back: () -> Unit, log: () -> Unit) {
    var state by remember { mutableStateOf<PersonDetailState?>(null) }
    LaunchedEffect(id) { state = withContext(Dispatchers.IO) { repo.personDetail(id).getOrNull() } }
    Scaffold(
        topBar = { TopAppBar(title = { Text(state?.displayName ?: "") }, navigationIcon = { TextButton(onClick = back) { Text("‹") } }) },
        floatingActionButton = { FloatingActionButton(onClick = log) { Text("Rencontre") } },
    ) { padding ->
        LazyColumn(Modifier.padding(padding).padding(12.dp)) {
            state?.let { s ->
                item { Text("Situation : ${s.situation ?: "-"}") }
                if (s.conflicts.isNotEmpty()) item { Text("À arbitrer au bureau : ${s.conflicts.joinToString()}", color = MaterialTheme.colorScheme.error) }
                items(s.timeline) { e ->
                    ListItem(
                        headlineContent = { Text("${e.kind.name.lowercase()} — ${e.title ?: ""}") },
                        supportingContent = { Text(listOfNotNull(day(e.atMs), e.worker, e.notes, if (e.clockOff) "⚠ horloge décalée" else null).joinToString(" · ")) },
                    )
                }
            }
        }
    }
}

@OptIn(ExperimentalMaterial3Api::class, ExperimentalLayoutApi::class)
@Composable
fun EncounterScreen(repo: FieldRepository, personId: String?, done: () -> Unit) {
    var form by remember { mutableStateOf(EncounterForm(persons = listOfNotNull(personId))) }
    var persons by remember { mutableStateOf(PersonListState()) }
    var problem by remember { mutableStateOf<String?>(null) }
    val scope = rememberCoroutineScope()
    LaunchedEffect(Unit) { persons = withContext(Dispatchers.IO) { repo.personList() } }
    Scaffold(topBar = { TopAppBar(title = { Text("Rencontre") }, navigationIcon = { TextButton(onClick = done) { Text("‹") } }) }) { padding ->
        Column(Modifier.padding(padding).padding(12.dp)) {
            Text("Qui ?")
            FlowRow {
                persons.persons.take(12).forEach { p ->
                    FilterChip(selected = p.id in form.persons, onClick = {
                        form = form.copy(persons = if (p.id in form.persons) form.persons - p.id else form.persons + p.id)
                    }, label = { Text(p.displayName) })
                }
            }
            Text("Donné")
            FlowRow { QUICK_SERVICES.forEach { s -> FilterChip(selected = s in form.services, onClick = { form = form.toggle(s) }, label = { Text(s) }) } }
            OutlinedTextField(form.place, { form = form.copy(place = it) }, label = { Text("Lieu") })
            OutlinedTextField(form.notes, { form = form.copy(notes = it) }, label = { Text("Notes") })
            problem?.let { Text(it, color = MaterialTheme.colorScheme.error) }
            Button(enabled = form.canSave(), onClick = {
                scope.launch {
                    withContext(Dispatchers.IO) { repo.saveEncounter(form) }.fold({ done() }, { problem = it.message })
                }
            }) { Text("Enregistrer") }
        }
    }
}

@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun DueScreen(repo: FieldRepository, back: () -> Unit) {
    var due by remember { mutableStateOf(listOf<uniffi.allervers_ffi.DueAction>()) }
    LaunchedEffect(Unit) { due = withContext(Dispatchers.IO) { repo.dueActions() } }
    Scaffold(topBar = { TopAppBar(title = { Text("Échéances") }, navigationIcon = { TextButton(onClick = back) { Text("‹") } }) }) { padding ->
        LazyColumn(Modifier.padding(padding).padding(12.dp)) {
            items(due) { a ->
                ListItem(
                    headlineContent = { Text(a.title ?: "") },
                    supportingContent = { Text(listOfNotNull(a.personName, a.dueAt, if (a.overdue) "en retard" else null).joinToString(" · ")) },
                )
            }
        }
    }
}

@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun JoinScreen(repo: FieldRepository, joined: () -> Unit) {
    var code by remember { mutableStateOf("") }
    var problem by remember { mutableStateOf<String?>(null) }
    val scope = rememberCoroutineScope()
    Scaffold(topBar = { TopAppBar(title = { Text("Rejoindre l'équipe") }) }) { padding ->
        Column(Modifier.padding(padding).padding(12.dp)) {
            Text("Le code d'invitation donné par la coordination (ALV1-…)")
            OutlinedTextField(code, { code = it }, label = { Text("Code") }, modifier = Modifier.fillMaxWidth())
            problem?.let { Text(it, color = MaterialTheme.colorScheme.error) }
            Row {
                Button(onClick = {
                    scope.launch {
                        withContext(Dispatchers.IO) { repo.join(code, OkHttpExchange()) }.fold(
                            { joined() },
                            { problem = (it as? uniffi.allervers_ffi.FfiException)?.toProblem()?.message ?: it.message },
                        )
                    }
                }) { Text("Rejoindre") }
                TextButton(onClick = joined) { Text("Plus tard (hors ligne)") }
            }
        }
    }
}
