// kyoto::sync::notify (being written).
#pragma once
