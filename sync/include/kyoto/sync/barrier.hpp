// kyoto::sync::barrier (being written).
#pragma once
