/// The event-stream client lives in its own module (the notification bench uses it too); tests get it from here.
@_exported import EventStream
