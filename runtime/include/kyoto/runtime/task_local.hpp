// kyoto::task_local (being written).
#pragma once
