// kyoto::process::stdio: what a child's standard stream is connected to
// (tokio's / std's process::Stdio).
#pragma once

namespace kyoto::process {

/// Where a child's stdin, stdout or stderr goes: a new pipe (piped()), the
/// parent's own stream (inherit()), or /dev/null (null()). A plain value;
/// pass it to command::stdin/stdout/stderr.
class stdio {
 public:
  /// A new pipe; the parent's end appears as child::stdin/stdout/stderr.
  static constexpr stdio piped() noexcept { return stdio(kind::piped); }
  /// The parent's own descriptor (0, 1 or 2).
  static constexpr stdio inherit() noexcept { return stdio(kind::inherit); }
  /// /dev/null.
  static constexpr stdio null() noexcept { return stdio(kind::null); }

  /// What the stream is connected to.
  enum class kind : unsigned char {
    piped,    ///< a new pipe
    inherit,  ///< the parent's descriptor
    null,     ///< /dev/null
  };
  /// Which of the three this is.
  constexpr kind get() const noexcept { return kind_; }
  friend constexpr bool operator==(stdio, stdio) noexcept = default;

 private:
  explicit constexpr stdio(kind k) noexcept : kind_(k) {}
  kind kind_;
};

}  // namespace kyoto::process
