// The app's HTTP stack for sync (TLS, proxies, the platform's certificates): it moves bytes, the
// core builds and reads the requests.
package org.allervers.app

import java.io.IOException
import java.util.concurrent.TimeUnit
import okhttp3.MediaType.Companion.toMediaType
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.RequestBody.Companion.toRequestBody
import uniffi.allervers_ffi.HttpExchange
import uniffi.allervers_ffi.HttpFailure
import uniffi.allervers_ffi.HttpRequest
import uniffi.allervers_ffi.HttpResponse

class OkHttpExchange : HttpExchange {
    private val client = OkHttpClient.Builder().callTimeout(60, TimeUnit.SECONDS).build()

    override fun send(request: HttpRequest): HttpResponse {
        val builder = Request.Builder().url(request.url)
        var contentType = "application/octet-stream"
        for (h in request.headers) {
            if (h.name.equals("Content-Type", ignoreCase = true)) contentType = h.value else builder.header(h.name, h.value)
        }
        if (request.method == "POST") builder.post(request.body.toRequestBody(contentType.toMediaType())) else builder.get()
        try {
            client.newCall(builder.build()).execute().use { r ->
                return HttpResponse(r.code.toUShort(), r.body?.bytes() ?: ByteArray(0))
            }
        } catch (e: IOException) {
            throw HttpFailure.Unreachable(e.message ?: "no answer")
        }
    }
}
