// The screens, as on Android. Find or create a person, a person's screen (with its follow-up and
// referral forms and a "done" button on each open follow-up), the encounter form, "to see again",
// the sync screen, joining a team (typed or scanned code) and who uses a shared phone render the
// core's view models (FieldView) and send the worker's actions as events (FieldEvent): every
// label, order and rule comes from Rust, and the core keeps the form being typed in the store.
// Joining and syncing go through the core's FieldApp too, which does the network through
// URLSession and returns the next screen. No word is written here: titles, buttons and what
// VoiceOver says come from the view models, in the worker's language. The organisation's own
// fields (a person's, an encounter's) are drawn as the core describes each one (CustomFieldRow).
import SwiftUI
import VisionKit

@MainActor
final class FieldModel: ObservableObject {
    let store: Store
    let app: FieldApp
    @Published var view: FieldView?

    init(store: Store) {
        self.store = store
        let lang = Locale.current.language.languageCode?.identifier == "fr" ? "fr" : "en"
        self.app = try! FieldApp(store: store, lang: lang, notSeenDays: nil)
        self.view = try? app.send(event: .start)
    }

    nonisolated static func openStore() throws -> Store {
        let dir = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("store.db").path
        let key = try KeychainKey.get()
        if FileManager.default.fileExists(atPath: path) { return try Store.open(path: path, key: key) }
        return try Store.create(path: path, key: key, deviceName: UIDevice.current.name, worker: UIDevice.current.name)
    }

    static func open() -> FieldModel { FieldModel(store: try! openStore()) }

    /// What was typed in a box of the organisation's own fields and not sent yet, by field name
    /// (CustomFieldRow): sent when the worker leaves the box or presses return, else first thing
    /// with whatever they do next (Save and Back included), so that nothing typed is lost.
    var typed: [String: FieldEvent] = [:]

    /// Sends what the worker did to the core and shows the screen it returns; what was typed
    /// and not sent yet goes first, and a value the core refuses stops there, its problem shown.
    func send(_ event: FieldEvent) {
        let waiting = Array(typed.values)
        typed = [:]
        for pending in waiting {
            guard let next = try? app.send(event: pending) else { continue }
            view = next
            if next.problem != nil { return }
        }
        if let next = try? app.send(event: event) { view = next }
    }

    /// Sends what was typed in the box of the organisation's field `name`, if anything.
    func commit(_ name: String) {
        if let event = typed.removeValue(forKey: name) { send(event) }
    }

    /// Syncs now; the core says what it came to in the screen it returns.
    func sync() {
        Task.detached { [app] in
            let next = try? app.sync(exchange: URLSessionExchange())
            await MainActor.run { if let next { self.view = next } }
        }
    }

    /// Joins the team of an invite code, typed or scanned; the core returns the next screen.
    func join(_ code: String) {
        Task.detached { [app] in
            let next = try? app.join(code: code, exchange: URLSessionExchange())
            await MainActor.run { if let next { self.view = next } }
        }
    }
}

extension FieldView {
    /// What the core refused, on the screens whose boxes of the organisation's fields wait to be sent.
    var problem: String? {
        switch self {
        case .encounter(let v): return v.problem
        case .person(let v): return v.problem
        default: return nil
        }
    }
}

/// The core's screen of the moment.
struct FieldRootView: View {
    @EnvironmentObject var model: FieldModel

    var body: some View {
        NavigationStack {
            switch model.view {
            case .search(let v): SearchScreen(v: v)
            case .encounter(let v): EncounterScreen(f: v)
            case .seeAgain(let v): SeeAgainScreen(s: v)
            case .person(let v): PersonScreen(p: v)
            case .sync(let v): SyncScreen(s: v)
            case .join(let v): JoinScreen(j: v)
            case .workers(let v): WorkersScreen(w: v)
            case nil: ProgressView()
            }
        }
    }
}

/// The button back to the search, in the core's words (shown and read aloud).
struct BackButton: View {
    @EnvironmentObject var model: FieldModel
    let label: String

    var body: some View {
        Button(label) { model.send(.showSearch) }
            .frame(minHeight: 44)
            .accessibilityLabel(label)
    }
}

/// A person in a list, as the core labelled them.
struct PersonRowView: View {
    let p: FieldPersonRow

    var body: some View {
        VStack(alignment: .leading) {
            Text(p.title)
            Text([p.detail.isEmpty ? nil : p.detail, p.lastSeen, p.alert].compactMap { $0 }.joined(separator: " · ")).font(.caption)
        }
        .frame(minHeight: 44)
    }
}

struct SearchScreen: View {
    @EnvironmentObject var model: FieldModel
    let v: FieldSearchView

    var body: some View {
        List {
            // Who uses the phone tonight, and the offer to change.
            HStack {
                Text(v.worker)
                Spacer()
                Button(v.changeWorker) { model.send(.showWorkers) }
                    .frame(minHeight: 48)
                    .accessibilityLabel("\(v.changeWorker) : \(v.worker)")
            }
            // What the phone's own sync came to while the app was closed, said once.
            if let news = v.syncNews { Text(news) }
            if !v.followed.isEmpty { Text(v.followed) }
            if let notice = v.notice { Text(notice) }
            if let problem = v.problem { Text(problem).foregroundColor(.red) }
            if let c = v.create {
                Button("\(c.label) \(c.asName)") { model.send(.create(asNickname: false)) }
                Button(c.asNickname) { model.send(.create(asNickname: true)) }
            }
            if !v.duplicates.isEmpty {
                Section(v.duplicatesTitle) {
                    ForEach(v.duplicates, id: \.id) { p in Button { model.send(.openPerson(id: p.id)) } label: { PersonRowView(p: p) } }
                }
            }
            ForEach(v.rows, id: \.id) { p in Button { model.send(.openPerson(id: p.id)) } label: { PersonRowView(p: p) } }
            if let empty = v.empty { Text(empty) }
        }
        .searchable(text: Binding(get: { v.query }, set: { model.send(.search(text: $0)) }), prompt: v.hint)
        .navigationTitle(v.title)
        .toolbar {
            Button(v.seeAgainLabel) { model.send(.showSeeAgain) }.frame(minHeight: 44).accessibilityLabel(v.seeAgainLabel)
            Button(v.newEncounterLabel) { model.send(.newEncounter(person: nil)) }.frame(minHeight: 44).accessibilityLabel(v.newEncounterLabel)
            Button(v.syncLabel) { model.send(.showSync) }.frame(minHeight: 44).accessibilityLabel(v.syncLabel)
        }
    }
}

struct EncounterScreen: View {
    @EnvironmentObject var model: FieldModel
    let f: FieldEncounterView

    var body: some View {
        Form {
            Section {
                ForEach(f.persons, id: \.id) { p in
                    Button(p.title) { model.send(.removePerson(id: p.id)) }
                        .frame(minHeight: 44)
                        .accessibilityLabel("\(f.removeLabel) : \(p.title)")
                }
                TextField(f.searchLabel, text: Binding(get: { f.search }, set: { model.send(.searchPerson(text: $0)) }))
                    .frame(minHeight: 44).accessibilityLabel(f.searchLabel)
                ForEach(f.found, id: \.id) { p in
                    Button { model.send(.addPerson(id: p.id)) } label: { PersonRowView(p: p) }
                }
            }
            // The anonymous stepper: VoiceOver's increment and decrement say what they do.
            Stepper(f.anonymousLabel, onIncrement: { model.send(.anonymous(delta: 1)) }, onDecrement: f.canDecrease ? { model.send(.anonymous(delta: -1)) } : nil)
                .frame(minHeight: 44)
                .accessibilityHint("\(f.moreLabel), \(f.fewerLabel)")
            Section(f.servicesLabel) {
                ForEach(f.services, id: \.code) { c in
                    Toggle(c.label, isOn: Binding(get: { c.selected }, set: { _ in model.send(.toggleService(code: c.code)) }))
                }
            }
            Section(f.placeLabel) {
                TextField(f.placeLabel, text: Binding(get: { f.place }, set: { model.send(.place(text: $0)) }))
                    .frame(minHeight: 44).accessibilityLabel(f.placeLabel)
                ForEach(f.recentPlaces, id: \.self) { p in
                    Button(p) { model.send(.place(text: p)) }.frame(minHeight: 44).accessibilityLabel("\(f.placeLabel) : \(p)")
                }
            }
            Picker(f.kindLabel, selection: Binding(get: { f.kinds.first(where: { $0.selected })?.code ?? "" }, set: { model.send(.kind(code: $0)) })) {
                ForEach(f.kinds, id: \.code) { c in Text(c.label).tag(c.code) }
            }
            .frame(minHeight: 44)
            TextField(f.notesLabel, text: Binding(get: { f.notes }, set: { model.send(.notes(text: $0)) }))
                .frame(minHeight: 44).accessibilityLabel(f.notesLabel)
            Toggle(f.followUpLabel, isOn: Binding(get: { f.followUp }, set: { model.send(.followUp(needed: $0)) }))
                .frame(minHeight: 44)
            // The organisation's own fields of encounters, kept in the form's draft.
            if !f.custom.isEmpty {
                Section(f.customTitle) {
                    ForEach(f.custom, id: \.name) { c in
                        CustomFieldRow(c: c) { .encounterCustom(name: $0, value: $1) }
                    }
                }
            }
            if let problem = f.problem { Text(problem).foregroundColor(.red) }
            Button(f.saveLabel) { model.send(.save) }.disabled(!f.canSave).frame(minHeight: 44).accessibilityLabel(f.saveLabel)
        }
        .navigationTitle(f.title)
        .toolbar { ToolbarItem(placement: .navigationBarLeading) { BackButton(label: f.backLabel) } }
    }
}

struct SeeAgainScreen: View {
    @EnvironmentObject var model: FieldModel
    let s: FieldSeeAgainView

    var body: some View {
        List {
            if let problem = s.problem { Text(problem).foregroundColor(.red) }
            if let empty = s.empty { Text(empty) }
            ForEach(s.sections, id: \.title) { section in
                Section(section.title) {
                    ForEach(section.rows, id: \.id) { p in Button { model.send(.openPerson(id: p.id)) } label: { PersonRowView(p: p) } }
                }
            }
        }
        .navigationTitle(s.title)
        .toolbar { ToolbarItem(placement: .navigationBarLeading) { BackButton(label: s.backLabel) } }
    }
}

struct SyncScreen: View {
    @EnvironmentObject var model: FieldModel
    let s: FieldSyncView

    var body: some View {
        List {
            if let notice = s.notice { Text(notice) }
            if let problem = s.problem { Text(problem).foregroundColor(.red) }
            Text(s.pending).font(.headline)
            Text(s.lastSuccess)
            if let failure = s.lastFailure { Text(failure).foregroundColor(.red) }
            if s.enrolled {
                Button(s.syncLabel) { model.sync() }.frame(minHeight: 48)
            }
            if let join = s.joinLabel {
                Button(join) { model.send(.showJoin) }.frame(minHeight: 48)
            }
        }
        .navigationTitle(s.title)
        .toolbar { ToolbarItem(placement: .navigationBarLeading) { BackButton(label: s.backLabel) } }
    }
}

struct JoinScreen: View {
    @EnvironmentObject var model: FieldModel
    let j: FieldJoinView
    @State private var scanning = false

    var body: some View {
        Form {
            Text(j.explain)
            TextField(j.hint, text: Binding(get: { j.code }, set: { model.send(.joinCode(text: $0)) }))
                .textInputAutocapitalization(.never)
                .autocorrectionDisabled()
            if let team = j.team { Text(team).font(.headline) }
            if let wrong = j.wrong { Text(wrong).foregroundColor(.red) }
            if let problem = j.problem { Text(problem).foregroundColor(.red) }
            if DataScannerViewController.isSupported {
                Button(j.scanLabel) { scanning = true }.frame(minHeight: 48)
            }
            Button(j.joinLabel) { model.join(j.code) }.disabled(!j.canJoin).frame(minHeight: 48)
            Button(j.laterLabel) { model.send(.joinLater) }.frame(minHeight: 48)
        }
        .navigationTitle(j.title)
        .sheet(isPresented: $scanning) {
            // The QR code a coordinator shows; its text goes to the core as if typed.
            QRScanner { code in
                scanning = false
                model.send(.joinCode(text: code))
            }
        }
    }
}

/// VisionKit's live scanner, reading the first QR code it sees.
struct QRScanner: UIViewControllerRepresentable {
    let found: (String) -> Void

    func makeUIViewController(context: Context) -> DataScannerViewController {
        let scanner = DataScannerViewController(recognizedDataTypes: [.barcode(symbologies: [.qr])], isHighlightingEnabled: true)
        scanner.delegate = context.coordinator
        try? scanner.startScanning()
        return scanner
    }

    func updateUIViewController(_ controller: DataScannerViewController, context: Context) {}

    func makeCoordinator() -> Coordinator { Coordinator(found: found) }

    final class Coordinator: NSObject, DataScannerViewControllerDelegate {
        let found: (String) -> Void
        init(found: @escaping (String) -> Void) { self.found = found }

        func dataScanner(_ scanner: DataScannerViewController, didAdd items: [RecognizedItem], allItems: [RecognizedItem]) {
            for item in items {
                if case .barcode(let code) = item, let text = code.payloadStringValue {
                    scanner.stopScanning()
                    found(text)
                    return
                }
            }
        }
    }
}

struct WorkersScreen: View {
    @EnvironmentObject var model: FieldModel
    let w: FieldWorkersView
    @State private var other = ""

    var body: some View {
        List {
            if let problem = w.problem { Text(problem).foregroundColor(.red) }
            ForEach(w.workers, id: \.name) { worker in
                Button { model.send(.chooseWorker(name: worker.name)) } label: {
                    VStack(alignment: .leading) {
                        Text(worker.name)
                        if worker.current { Text(w.currentLabel).font(.caption) }
                    }
                    .frame(minHeight: 48)
                }
                .accessibilityLabel(worker.current ? "\(worker.name), \(w.currentLabel)" : "\(w.chooseLabel) : \(worker.name)")
            }
            HStack {
                TextField(w.otherHint, text: $other)
                Button(w.chooseLabel) { model.send(.chooseWorker(name: other)) }.frame(minHeight: 48)
            }
        }
        .navigationTitle(w.title)
        .toolbar { ToolbarItem(placement: .navigationBarLeading) { BackButton(label: w.backLabel) } }
    }
}

struct PersonScreen: View {
    @EnvironmentObject var model: FieldModel
    let p: FieldPersonView

    var body: some View {
        List {
            if !p.subtitle.isEmpty { Text(p.subtitle) }
            ForEach(p.facts, id: \.label) { f in Text("\(f.label) : \(f.value)") }
            // What changes in the street, edited in place: each tap is a change of its own.
            Picker(p.situationsLabel, selection: Binding(get: { p.situations.first(where: { $0.selected })?.code ?? "" }, set: { model.send(.editPerson(edit: .situation(code: $0))) })) {
                ForEach(p.situations, id: \.code) { c in Text(c.label).tag(c.code) }
            }
            .frame(minHeight: 44)
            Section(p.needsLabel) {
                ForEach(p.needs, id: \.code) { c in
                    Toggle(c.label, isOn: Binding(get: { c.selected }, set: { _ in model.send(.editPerson(edit: .need(code: c.code))) }))
                        .frame(minHeight: 44)
                }
            }
            Picker(p.alertsLabel, selection: Binding(get: { p.alerts.first(where: { $0.selected })?.code ?? "" }, set: { model.send(.editPerson(edit: .alert(code: $0))) })) {
                ForEach(p.alerts, id: \.code) { c in Text(c.label).tag(c.code) }
            }
            .frame(minHeight: 44)
            // The organisation's own fields of persons, each edit a change of its own.
            if !p.custom.isEmpty {
                Section(p.customTitle) {
                    ForEach(p.custom, id: \.name) { c in
                        CustomFieldRow(c: c) { .editPerson(edit: .custom(name: $0, value: $1)) }
                    }
                }
            }
            if let problem = p.problem { Text(problem).foregroundColor(.red) }
            if !p.conflicts.isEmpty {
                Text("\(p.conflictsTitle) : \(p.conflicts.joined(separator: ", "))").foregroundColor(.red)
            }
            if !p.actions.isEmpty {
                Section(p.actionsTitle) {
                    ForEach(p.actions, id: \.id) { a in
                        OpenActionRow(a: a, done: p.done, commentHint: p.doneCommentHint, overdue: p.overdueLabel)
                    }
                }
            }
            ActionFormSection(f: p.actionForm)
            if !p.referrals.isEmpty {
                Section(p.referralsTitle) {
                    ForEach(p.referrals, id: \.id) { r in
                        VStack(alignment: .leading) {
                            Text([r.target, r.targetName].compactMap { $0 }.joined(separator: " · "))
                            Text([r.date, r.status].compactMap { $0 }.joined(separator: " · ")).font(.caption)
                        }
                    }
                }
            }
            ReferralFormSection(f: p.referralForm)
            if !p.journey.isEmpty {
                Section(p.journeyTitle) {
                    ForEach(Array(p.journey.enumerated()), id: \.offset) { _, j in
                        VStack(alignment: .leading) {
                            Text(j.situation).fontWeight(j.current ? .bold : .regular)
                            Text([j.days, j.place].filter { !$0.isEmpty }.joined(separator: " · ")).font(.caption)
                        }
                    }
                }
            }
            Section(p.timelineTitle) {
                ForEach(Array(p.timeline.enumerated()), id: \.offset) { _, e in
                    VStack(alignment: .leading) {
                        Text("\(e.what) — \(e.detail)")
                        Text([e.when, e.who, e.clockOff ? p.clockOffLabel : nil].compactMap { $0 }.joined(separator: " · ")).font(.caption)
                    }
                }
            }
        }
        .navigationTitle(p.title)
        .toolbar {
            ToolbarItem(placement: .navigationBarLeading) { BackButton(label: p.backLabel) }
            ToolbarItem(placement: .primaryAction) {
                Button(p.newEncounterLabel) { model.send(.newEncounter(person: p.id)) }
                    .frame(minHeight: 44).accessibilityLabel(p.newEncounterLabel)
            }
        }
    }
}

/// One of the organisation's own fields, as the core describes it; `event` makes the event that
/// sets it (the encounter form's or a person's edit). A value with no definition on this phone,
/// or a retired field, is only shown. A text, number or date box keeps what is typed in the
/// model's `typed` until the worker leaves it or presses return (the core checks and trims the
/// whole value, not each keystroke); a yes/no or a choice sends the code chosen, and a code of
/// several choices is added or taken off by its toggle. What is wrong with the value held is
/// said beneath. Each part is a row of its own.
struct CustomFieldRow: View {
    @EnvironmentObject var model: FieldModel
    let c: FieldCustomControl
    let event: (String, String) -> FieldEvent
    /// What is typed in the box; nil: the value the core holds.
    @State private var text: String? = nil
    @FocusState private var focused: Bool

    init(c: FieldCustomControl, event: @escaping (String, String) -> FieldEvent) {
        self.c = c
        self.event = event
    }

    var body: some View {
        Group {
            switch c.editable ? c.fieldType : "" {
            case "text", "number", "date":
                LabeledContent(c.label) {
                    TextField(c.label, text: Binding(get: { text ?? c.value }, set: { entry in
                        text = entry
                        if entry == c.value { model.typed[c.name] = nil } else { model.typed[c.name] = event(c.name, entry) }
                    }))
                    .multilineTextAlignment(.trailing)
                    // Digits with the minus, the comma or the date's dashes, and a return key.
                    .keyboardType(c.fieldType == "text" ? .default : .numbersAndPunctuation)
                    .submitLabel(.done)
                    .focused($focused)
                    .onSubmit { model.commit(c.name) }
                    .accessibilityLabel(c.label)
                }
                .frame(minHeight: 44)
                .onChange(of: focused) { if !$0 { model.commit(c.name) } }
                // The core kept a value (what was sent, checked): the box shows it.
                .onChange(of: c.value) { _ in text = nil }
            case "yes_no", "choice":
                Picker(c.label, selection: Binding(get: { c.choices.first(where: { $0.selected })?.code ?? "" }, set: { code in
                    if !c.choices.contains(where: { $0.selected && $0.code == code }) { model.send(event(c.name, code)) }
                })) {
                    ForEach(c.choices, id: \.code) { o in Text(o.label).tag(o.code) }
                }
                .frame(minHeight: 44)
            case "choices":
                Text(c.label).font(.subheadline)
                ForEach(c.choices, id: \.code) { o in
                    Toggle(o.label, isOn: Binding(get: { o.selected }, set: { _ in model.send(event(c.name, o.code)) }))
                        .frame(minHeight: 44)
                        .accessibilityLabel("\(c.label) : \(o.label)")
                }
            default:
                Text("\(c.label) : \(c.shown)")
            }
            if let problem = c.problem { Text(problem).foregroundColor(.red) }
        }
    }
}

/// An open follow-up and its "done" button: a tap shows the comment field, a second tap sends it.
struct OpenActionRow: View {
    @EnvironmentObject var model: FieldModel
    let a: FieldOpenAction
    let done: String
    let commentHint: String
    /// Said beside an overdue follow-up's due day.
    let overdue: String
    @State private var closing = false
    @State private var comment = ""

    var body: some View {
        VStack(alignment: .leading) {
            HStack {
                VStack(alignment: .leading) {
                    Text(a.title)
                    // An overdue follow-up says so in words, not only in red.
                    if let due = a.due { Text(a.overdue ? "\(due) · \(overdue)" : due).font(.caption).foregroundColor(a.overdue ? .red : .primary) }
                }
                Spacer()
                Button(done) {
                    if closing { model.send(.completeAction(id: a.id, comment: comment)) } else { closing = true }
                }
                .frame(minHeight: 48)
                .accessibilityLabel("\(done) : \(a.title)")
            }
            if closing {
                TextField(commentHint, text: $comment).frame(minHeight: 48).accessibilityLabel(commentHint)
            }
        }
    }
}

/// The form that adds a follow-up: each keystroke and tap is an event (the core keeps the draft).
struct ActionFormSection: View {
    @EnvironmentObject var model: FieldModel
    let f: FieldActionForm

    var body: some View {
        Section(f.heading) {
            TextField(f.titleHint, text: Binding(get: { f.title }, set: { model.send(.actionTitle(text: $0)) }))
                .frame(minHeight: 48).accessibilityLabel(f.titleHint)
            Picker(f.heading, selection: Binding(get: { f.categories.first(where: { $0.selected })?.code ?? "" }, set: { model.send(.actionCategory(code: $0)) })) {
                ForEach(f.categories, id: \.code) { c in Text(c.label).tag(c.code) }
            }
            .frame(minHeight: 48).accessibilityLabel(f.heading)
            TextField(f.dueHint, text: Binding(get: { f.due }, set: { model.send(.actionDue(text: $0)) }))
                .frame(minHeight: 48).accessibilityLabel(f.dueHint)
            HStack {
                Button(f.add) { model.send(.addAction) }.disabled(!f.canAdd).frame(minHeight: 48).accessibilityLabel(f.add)
                Spacer()
                Button(f.clear) { model.send(.clearAction) }.disabled(!f.canClear).frame(minHeight: 48).accessibilityLabel("\(f.clear) : \(f.heading)")
            }
            .buttonStyle(.borderless)
        }
    }
}

/// The form that adds a referral, as the follow-up's.
struct ReferralFormSection: View {
    @EnvironmentObject var model: FieldModel
    let f: FieldReferralForm

    var body: some View {
        Section(f.heading) {
            Picker(f.heading, selection: Binding(get: { f.targets.first(where: { $0.selected })?.code ?? "" }, set: { model.send(.referralTarget(code: $0)) })) {
                ForEach(f.targets, id: \.code) { c in Text(c.label).tag(c.code) }
            }
            .frame(minHeight: 48).accessibilityLabel(f.heading)
            TextField(f.targetNameHint, text: Binding(get: { f.targetName }, set: { model.send(.referralName(text: $0)) }))
                .frame(minHeight: 48).accessibilityLabel(f.targetNameHint)
            TextField(f.dateHint, text: Binding(get: { f.date }, set: { model.send(.referralDate(text: $0)) }))
                .frame(minHeight: 48).accessibilityLabel(f.dateHint)
            HStack {
                Button(f.add) { model.send(.addReferral) }.disabled(!f.canAdd).frame(minHeight: 48).accessibilityLabel(f.add)
                Spacer()
                Button(f.clear) { model.send(.clearReferral) }.disabled(!f.canClear).frame(minHeight: 48).accessibilityLabel("\(f.clear) : \(f.heading)")
            }
            .buttonStyle(.borderless)
        }
    }
}
