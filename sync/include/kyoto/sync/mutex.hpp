// kyoto::sync::mutex (being written).
#pragma once
