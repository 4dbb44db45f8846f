// kyoto::sync::watch (being written).
#pragma once
