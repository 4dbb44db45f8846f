// kyoto::trace::span: its data and context text, and the task-local key.
#include <kyoto/trace/span.hpp>

#include <stdexcept>

namespace kyoto::detail {

const task_local<trace::span>& current_span_key() noexcept {
  static const task_local<trace::span> key;
  return key;
}

}  // namespace kyoto::detail

namespace kyoto::trace {

namespace {

/// Appends `d`'s ancestors, then `d`, as `a{k=v}:b`.
void append_context(std::string& out, const kyoto::detail::span_data& d) {
  if (d.parent != nullptr) {
    append_context(out, *d.parent);
    out += ':';
  }
  out += d.name;
  if (d.fields.empty()) return;
  out += '{';
  for (std::size_t i = 0; i < d.fields.size(); ++i) {
    if (i != 0) out += ' ';
    out += d.fields[i].key;
    out += '=';
    out += d.fields[i].value;
  }
  out += '}';
}

}  // namespace

span::span(std::string name, std::initializer_list<field> fields) {
  if (name.empty()) {
    throw std::invalid_argument("kyoto::trace::span: a span needs a name (an empty one was given)");
  }
  const span* outer = kyoto::detail::current_span_key().try_get();
  data_ = std::make_shared<const kyoto::detail::span_data>(kyoto::detail::span_data{
      std::move(name), std::vector<field>(fields), outer != nullptr ? outer->data_ : nullptr});
}

std::string_view span::name() const noexcept {
  return data_ != nullptr ? std::string_view(data_->name) : std::string_view();
}

const std::vector<field>& span::fields() const noexcept {
  static const std::vector<field> none;
  if (data_ == nullptr) return none;
  // NOLINTNEXTLINE(clang-analyzer-core.uninitialized.UndefReturn): data_ is not null here
  return data_->fields;
}

std::string span::context() const {
  std::string out;
  if (data_ != nullptr) append_context(out, *data_);
  return out;
}

}  // namespace kyoto::trace
