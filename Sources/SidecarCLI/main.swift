//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import ArgumentParser
import Sidecar

// The `llm-sidecar` binary. All of its code is the `Sidecar` library, which the tests and the
// fuzz targets (Fuzz/Package.swift) link as well.
LLMSidecarCommand.main()
