// The iOS shell: opens the encrypted store with the key kept in the Keychain, shows the
// screens, and syncs in the background with BGTaskScheduler when the system allows it.
import BackgroundTasks
import SwiftUI

@main
struct AllerversApp: App {
    @StateObject private var model = FieldModel.open()

    init() {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: "org.allervers.sync", using: nil) { task in
            BackgroundSync.run(task: task as! BGAppRefreshTask)
        }
        BackgroundSync.schedule()
    }

    var body: some Scene {
        WindowGroup { FieldRootView().environmentObject(model) }
    }
}

enum BackgroundSync {
    static func schedule() {
        let request = BGAppRefreshTaskRequest(identifier: "org.allervers.sync")
        request.earliestBeginDate = Date(timeIntervalSinceNow: 30 * 60)
        try? BGTaskScheduler.shared.submit(request)
    }

    static func run(task: BGAppRefreshTask) {
        schedule()
        let work = Task.detached {
            let ok = (try? FieldModel.openStore().sync(exchange: URLSessionExchange())) != nil
            task.setTaskCompleted(success: ok)
        }
        task.expirationHandler = { work.cancel() }
    }
}
