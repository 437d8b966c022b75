package bugstack

import (
	"bytes"
	"encoding/json"
)

// Under the server's 1 MiB limit for one event: an event it would refuse with 413 is shrunk before sending.
const (
	maxEventBytes     = 900 << 10
	innerFramesKept   = 20
	encodedModulesKey = "modules"
)

// encodeEvent is the event's JSON, redacted and at most `limit` bytes where it can be: the event is written as JSON and read back as plain data,
// which the redactor walks whatever the app put in it (BeforeSend may add anything). Module paths and
// versions are masked but not filtered by key: a module named "…/oauth2" is no secret. An oversized
// event loses library source lines, then all source lines, then outer frames.
func encodeEvent(event *Event, redactor *redactor, limit int) ([]byte, error) {
	raw, err := json.Marshal(event)
	if err != nil {
		return nil, err
	}
	decoder := json.NewDecoder(bytes.NewReader(raw))
	decoder.UseNumber()
	var data map[string]interface{}
	if err := decoder.Decode(&data); err != nil {
		return nil, err
	}
	modules := maskedModules(data[encodedModulesKey])
	delete(data, encodedModulesKey)
	redacted, _ := redactor.redact(data, 0).(map[string]interface{})
	if modules != nil {
		redacted[encodedModulesKey] = modules
	}
	body, err := json.Marshal(redacted)
	for _, shrink := range []func(map[string]interface{}){dropLibraryContext, dropAllContext, keepInnerFrames} {
		if err != nil || len(body) <= limit {
			break
		}
		shrink(redacted)
		body, err = json.Marshal(redacted)
	}
	return body, err
}

func maskedModules(value interface{}) map[string]interface{} {
	modules, ok := value.(map[string]interface{})
	if !ok {
		return nil
	}
	masked := make(map[string]interface{}, len(modules))
	for path, version := range modules {
		if text, ok := version.(string); ok {
			masked[maskText(path)] = maskText(text)
		}
	}
	return masked
}

// eachStacktrace calls `visit` with every exception value's decoded stacktrace.
func eachStacktrace(data map[string]interface{}, visit func(stacktrace map[string]interface{})) {
	exception, _ := data["exception"].(map[string]interface{})
	values, _ := exception["values"].([]interface{})
	for _, value := range values {
		decoded, _ := value.(map[string]interface{})
		if stacktrace, ok := decoded["stacktrace"].(map[string]interface{}); ok {
			visit(stacktrace)
		}
	}
}

func eachFrame(data map[string]interface{}, visit func(frame map[string]interface{})) {
	eachStacktrace(data, func(stacktrace map[string]interface{}) {
		frames, _ := stacktrace["frames"].([]interface{})
		for _, frame := range frames {
			if decoded, ok := frame.(map[string]interface{}); ok {
				visit(decoded)
			}
		}
	})
}

func dropContext(frame map[string]interface{}) {
	delete(frame, "pre_context")
	delete(frame, "post_context")
}

func dropLibraryContext(data map[string]interface{}) {
	eachFrame(data, func(frame map[string]interface{}) {
		if frame["in_app"] != true {
			dropContext(frame)
		}
	})
}

func dropAllContext(data map[string]interface{}) {
	eachFrame(data, dropContext)
}

func keepInnerFrames(data map[string]interface{}) {
	eachStacktrace(data, func(stacktrace map[string]interface{}) {
		if frames, ok := stacktrace["frames"].([]interface{}); ok && len(frames) > innerFramesKept {
			stacktrace["frames"] = frames[len(frames)-innerFramesKept:]
		}
	})
}
