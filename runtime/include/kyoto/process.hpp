// kyoto::process: child processes (tokio's process).
#pragma once

#include <kyoto/process/child.hpp>
#include <kyoto/process/command.hpp>
#include <kyoto/process/exit_status.hpp>
#include <kyoto/process/pipe.hpp>
#include <kyoto/process/stdio.hpp>
