// kyoto::sync::semaphore (being written).
#pragma once
