// The Android shell: Compose screens over the generated Kotlin bindings. The Rust library is
// built for each ABI with cargo-ndk and the bindings are generated from it before every build.

plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
    id("org.jetbrains.kotlin.plugin.compose")
}

val repoRoot = rootDir.parentFile
val jniLibsDir = layout.buildDirectory.dir("rustJniLibs")
val bindingsDir = layout.buildDirectory.dir("generated/uniffi")

android {
    namespace = "org.allervers.app"
    compileSdk = 35
    defaultConfig {
        applicationId = "org.allervers.app"
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
    }
    buildFeatures { compose = true }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
    sourceSets["main"].apply {
        jniLibs.srcDir(jniLibsDir)
        // The repository and screen states shared with the JVM test (plain Kotlin).
        java.srcDir(File(rootDir, "logic/src/main/kotlin"))
        java.srcDir(bindingsDir)
    }
}

// cargo-ndk builds liballervers_ffi.so for the three ABIs the app ships.
val cargoNdk by tasks.registering(Exec::class) {
    workingDir = repoRoot
    commandLine(
        "cargo", "ndk",
        "-t", "arm64-v8a", "-t", "armeabi-v7a", "-t", "x86_64",
        "-o", jniLibsDir.get().asFile.absolutePath,
        "build", "--release", "-p", "allervers-ffi", "--lib",
    )
}

// The Kotlin bindings, generated from the library by the workspace's own uniffi-bindgen.
val uniffiBindings by tasks.registering(Exec::class) {
    dependsOn(cargoNdk)
    workingDir = repoRoot
    commandLine(
        "cargo", "run", "--release", "-p", "allervers-bindgen", "--",
        jniLibsDir.get().file("arm64-v8a/liballervers_ffi.so").asFile.absolutePath,
        "kotlin", bindingsDir.get().asFile.absolutePath,
    )
}

tasks.named("preBuild") { dependsOn(uniffiBindings) }

dependencies {
    val composeBom = platform("androidx.compose:compose-bom:2024.10.01")
    implementation(composeBom)
    implementation("androidx.compose.material3:material3")
    implementation("androidx.compose.ui:ui")
    implementation("androidx.activity:activity-compose:1.9.3")
    implementation("androidx.lifecycle:lifecycle-viewmodel-compose:2.8.7")
    implementation("androidx.work:work-runtime-ktx:2.9.1")
    implementation("com.squareup.okhttp3:okhttp:4.12.0")
    // Reads the invite's QR code through Google Play services (no camera permission of our own).
    implementation("com.google.android.gms:play-services-code-scanner:16.1.0")
    implementation("net.java.dev.jna:jna:5.15.0@aar")
}
