// The screens, as on Android: the person list with search, the pending-sync badge and the sync
// button; a person's merged timeline; the encounter form (a known person in three taps); the
// due actions.
import SwiftUI

@MainActor
final class FieldModel: ObservableObject {
    let store: Store
    @Published var persons: [PersonSummary] = []
    @Published var pending: UInt64 = 0
    @Published var message: String?
    @Published var enrolled: Bool

    init(store: Store) {
        self.store = store
        self.enrolled = (try? store.isEnrolled()) ?? false
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

    func refresh(search: String) {
        persons = (try? store.listPersons(search: search.isEmpty ? nil : search, sort: .recentlySeen, limit: 200)) ?? []
        pending = (try? store.pendingChanges()) ?? 0
    }

    func sync() {
        Task.detached { [store] in
            let text: String
            do {
                let s = try store.sync(exchange: URLSessionExchange())
                text = "Envoyé \(s.pushed), reçu \(s.pulled)"
            } catch {
                text = "\(error)"
            }
            await MainActor.run { self.message = text; self.refresh(search: "") }
        }
    }
}

struct JoinView: View {
    @EnvironmentObject var model: FieldModel
    @State private var code = ""
    @State private var problem: String?

    var body: some View {
        Form {
            Text("Le code d'invitation donné par la coordination (ALV1-…)")
            TextField("Code", text: $code)
            if let problem { Text(problem).foregroundColor(.red) }
            Button("Rejoindre") {
                do {
                    try model.store.join(code: code.trimmingCharacters(in: .whitespaces), exchange: URLSessionExchange())
                    model.enrolled = true
                } catch { problem = "\(error)" }
            }
        }
        .navigationTitle("Rejoindre l'équipe")
    }
}

struct PersonListView: View {
    @EnvironmentObject var model: FieldModel
    @State private var search = ""

    var body: some View {
        NavigationStack {
            List(model.persons, id: \.id) { p in
                NavigationLink(p.displayName) { PersonDetailView(id: p.id) }
            }
            .searchable(text: $search)
            .onChange(of: search) { model.refresh(search: $0) }
            .onAppear { model.refresh(search: search) }
            .navigationTitle("Personnes")
            .toolbar {
                if !model.enrolled { NavigationLink("Rejoindre") { JoinView() } }
                NavigationLink("Échéances") { DueActionsView() }
                NavigationLink("Rencontre") { LogEncounterView(personId: nil) }
                Button("Synchroniser (\(model.pending))") { model.sync() }
            }
            .safeAreaInset(edge: .bottom) { if let m = model.message { Text(m).padding() } }
        }
    }
}

struct PersonDetailView: View {
    @EnvironmentObject var model: FieldModel
    let id: String
    @State private var person: Person?
    @State private var timeline: [TimelineEntry] = []

    var body: some View {
        List {
            Text("Situation : \(person?.situation ?? "-")")
            ForEach(Array(timeline.enumerated()), id: \.offset) { _, e in
                VStack(alignment: .leading) {
                    Text("\(String(describing: e.kind)) — \(e.title ?? "")")
                    Text([e.worker, e.notes, e.clockOff ? "⚠ horloge décalée" : nil].compactMap { $0 }.joined(separator: " · ")).font(.caption)
                }
            }
        }
        .navigationTitle(person?.displayName ?? "")
        .toolbar { NavigationLink("Rencontre") { LogEncounterView(personId: id) } }
        .onAppear {
            person = try? model.store.person(idText: id)
            timeline = ((try? model.store.timeline(person: id)) ?? []).reversed()
        }
    }
}

struct LogEncounterView: View {
    @EnvironmentObject var model: FieldModel
    @Environment(\.dismiss) var dismiss
    let personId: String?
    @State private var chosen: Set<String> = []
    @State private var services: Set<String> = []
    @State private var place = ""
    @State private var problem: String?
    private let quick = ["drink", "food", "hygiene_kit", "blanket", "clothing", "information", "care", "referral"]

    var body: some View {
        Form {
            Section("Qui ?") {
                ForEach(model.persons.prefix(12), id: \.id) { p in
                    Toggle(p.displayName, isOn: Binding(get: { chosen.contains(p.id) }, set: { if $0 { chosen.insert(p.id) } else { chosen.remove(p.id) } }))
                }
            }
            Section("Donné") {
                ForEach(quick, id: \.self) { s in
                    Toggle(s, isOn: Binding(get: { services.contains(s) }, set: { if $0 { services.insert(s) } else { services.remove(s) } }))
                }
            }
            TextField("Lieu", text: $place)
            if let problem { Text(problem).foregroundColor(.red) }
            Button("Enregistrer") {
                do {
                    _ = try model.store.logEncounter(encounter: NewEncounter(
                        persons: Array(chosen), anonymousCount: 0, occurredAtMs: nil, place: place.isEmpty ? nil : place,
                        team: nil, kind: "follow_up", services: quick.filter { services.contains($0) }, notes: nil, followUp: false))
                    dismiss()
                } catch { problem = "\(error)" }
            }.disabled(chosen.isEmpty)
        }
        .onAppear { if let personId { chosen.insert(personId) } }
    }
}

struct DueActionsView: View {
    @EnvironmentObject var model: FieldModel
    @State private var due: [DueAction] = []

    var body: some View {
        List(due, id: \.id) { a in
            VStack(alignment: .leading) {
                Text(a.title ?? "")
                Text([a.personName, a.dueAt, a.overdue ? "en retard" : nil].compactMap { $0 }.joined(separator: " · ")).font(.caption)
            }
        }
        .navigationTitle("Échéances")
        .onAppear { due = (try? model.store.dueActions()) ?? [] }
    }
}
