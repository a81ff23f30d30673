// Opens the encrypted store once per process and schedules the periodic sync.
package org.allervers.app

import android.app.Application
import androidx.work.Constraints
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.NetworkType
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import java.io.File
import java.util.concurrent.TimeUnit
import org.allervers.logic.FieldRepository
import uniffi.allervers_ffi.Store

class AllerversApp : Application() {
    lateinit var store: Store
        private set
    lateinit var repository: FieldRepository
        private set

    override fun onCreate() {
        super.onCreate()
        val key = StoreKey.get(this)
        val file = File(filesDir, "store.db")
        store = if (file.exists()) Store.open(file.path, key) else Store.create(file.path, key, android.os.Build.MODEL, android.os.Build.MODEL)
        repository = FieldRepository(store, if (java.util.Locale.getDefault().language == "fr") "fr" else "en")
        // Sync every 30 minutes when a network is there; WorkManager retries with backoff.
        val work = PeriodicWorkRequestBuilder<SyncWorker>(30, TimeUnit.MINUTES)
            .setConstraints(Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build())
            .build()
        WorkManager.getInstance(this).enqueueUniquePeriodicWork("sync", ExistingPeriodicWorkPolicy.KEEP, work)
    }
}
