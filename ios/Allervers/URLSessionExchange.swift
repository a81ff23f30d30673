// The app's HTTP stack for sync: it moves bytes, the core builds and reads the requests.
import Foundation

final class URLSessionExchange: HttpExchange {
    func send(request: HttpRequest) throws -> HttpResponse {
        var r = URLRequest(url: URL(string: request.url)!, timeoutInterval: 60)
        r.httpMethod = request.method
        for h in request.headers { r.setValue(h.value, forHTTPHeaderField: h.name) }
        if request.method == "POST" { r.httpBody = request.body }
        let semaphore = DispatchSemaphore(value: 0)
        var result: Result<HttpResponse, HttpFailure> = .failure(.Unreachable(detail: "no answer"))
        URLSession.shared.dataTask(with: r) { data, response, error in
            if let http = response as? HTTPURLResponse {
                result = .success(HttpResponse(status: UInt16(http.statusCode), body: data ?? Data()))
            } else {
                result = .failure(.Unreachable(detail: error?.localizedDescription ?? "no answer"))
            }
            semaphore.signal()
        }.resume()
        semaphore.wait()
        return try result.get()
    }
}
