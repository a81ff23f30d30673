// Periodic sync in the background, when a network is available.
package org.allervers.app

import android.content.Context
import androidx.work.CoroutineWorker
import androidx.work.WorkerParameters
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import uniffi.allervers_ffi.FfiException

class SyncWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    override suspend fun doWork(): Result = withContext(Dispatchers.IO) {
        val app = applicationContext as AllerversApp
        if (!app.store.isEnrolled()) return@withContext Result.success()
        try {
            app.store.sync(OkHttpExchange())
            Result.success()
        } catch (e: FfiException.RelayUnreachable) {
            Result.retry()
        } catch (e: FfiException) {
            Result.failure()
        }
    }
}
